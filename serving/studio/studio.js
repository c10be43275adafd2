// The studio page: pick a served model, make a grid from a seed (the same pictures as
// `genart sample`), steer it (class, truncation), walk between two seeds, save a PNG with
// provenance. The generator runs in a Web Worker with onnxruntime-web; without
// WebAssembly the grid comes from the server's :sample endpoint instead.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = { models: [], model: null, worker: null, pending: new Map(), nextId: 1,
                  grid: null, request: null, frames: null, framesKey: "", serverOnly: false };
  const started = performance.now();

  function setState(value) { document.body.dataset.state = value; }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = false;
    setState("error");
  }

  function clearError() { $("error").hidden = true; }

  function notice(message) {
    $("notice").textContent = message;
    $("notice").hidden = !message;
  }

  function intValue(id, low, high) {
    const value = Number($(id).value);
    if (!Number.isSafeInteger(value) || value < low || (high !== undefined && value > high)) {
      throw new Error(`${$(id).closest("label").firstChild.textContent.trim()} must be a ` +
                      `whole number from ${low}${high !== undefined ? " to " + high : " up"}`);
    }
    return value;
  }

  function truncation() {
    const psi = Number($("truncation").value);
    return psi >= 1 ? null : psi;
  }

  // The classes a model can be asked for: a conditional model's labels, or the classes a
  // model with latent-coded classes reads from z (metadata.latent_classes); null for none.
  function classNames(meta) {
    if (meta.conditional) return meta.class_names;
    return meta.latent_classes ? meta.latent_classes.class_names : null;
  }

  // One class index per picture: the chosen class, or the classes in turn (as Python);
  // with latent-coded classes nothing unless one is chosen (the latents pick theirs).
  function labels(n) {
    const meta = state.model.metadata;
    const names = classNames(meta);
    if (!names) return null;
    const chosen = $("class").value;
    if (chosen === "" && !meta.conditional) return null;
    return Array.from({ length: n }, (_, i) =>
      chosen === "" ? i % names.length : Number(chosen));
  }

  function versionPath() {
    return `/v1/models/${encodeURIComponent(state.model.name)}/versions/${state.model.version}`;
  }

  // --- the worker -----------------------------------------------------------------------
  function ask(message) {
    return new Promise((resolve, reject) => {
      const id = state.nextId++;
      state.pending.set(id, { resolve, reject });
      state.worker.postMessage({ ...message, id });
    });
  }

  function startWorker() {
    const worker = new Worker("worker.js");
    worker.onmessage = ({ data }) => {
      const waiting = state.pending.get(data.id);
      if (!waiting) return;
      state.pending.delete(data.id);
      if (data.type === "error") waiting.reject(new Error(data.message));
      else waiting.resolve(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      const error = new Error("the generator's worker failed to start" +
                              (event.message ? `: ${event.message}` : ""));
      for (const waiting of state.pending.values()) waiting.reject(error);
      state.pending.clear();
    };
    return worker;
  }

  // --- drawing ----------------------------------------------------------------------------
  function draw(canvas, grid, scale) {
    canvas.width = grid.width;
    canvas.height = grid.height;
    const image = canvas.getContext("2d").createImageData(grid.width, grid.height);
    for (let p = 0; p < grid.width * grid.height; p++) {
      for (let k = 0; k < 3; k++) {
        image.data[4 * p + k] = grid.pixels[p * grid.channels + (grid.channels === 1 ? 0 : k)];
      }
      image.data[4 * p + 3] = 255;
    }
    canvas.getContext("2d").putImageData(image, 0, 0);
    canvas.style.width = `${grid.width * scale}px`;
    canvas.style.height = `${grid.height * scale}px`;
  }

  function scaleFor(width, target) { return Math.max(1, Math.floor(target / width)); }

  function timing(ms) {
    const body = document.body.dataset;
    if (!body.firstGridMs) body.firstGridMs = String(Math.round(performance.now() - started));
    body.lastGridMs = String(Math.round(ms));
    body.grids = String(Number(body.grids || 0) + 1);
    $("timing").textContent = `first grid ${body.firstGridMs} ms after the page opened; ` +
      `this one ${Math.round(ms)} ms`;
  }

  // --- making pictures ----------------------------------------------------------------------
  async function make() {
    clearError();
    let n, seed;
    try {
      n = intValue("n", 1, 64);
      seed = intValue("seed", 0);
    } catch (err) {
      showError(err.message);
      return;
    }
    setState("busy");
    const request = { n, seed, truncation: truncation(), labels: labels(n),
                      className: $("class").value === "" ? null
                        : classNames(state.model.metadata)[Number($("class").value)] };
    const t0 = performance.now();
    try {
      let grid;
      if (state.serverOnly) {
        grid = await serverGrid(request);
      } else {
        const result = await ask({ type: "sample", n, seed, truncation: request.truncation,
                                   labels: request.labels });
        grid = genartPng.makeGrid(result.data, result.dims);
      }
      state.grid = grid;
      state.request = request;
      draw($("grid"), grid, scaleFor(grid.width, 520));
      timing(performance.now() - t0);
      $("save").disabled = false;
      if (!state.serverOnly) await walk();
      setState("ready");
    } catch (err) {
      showError(err.message);
    }
  }

  async function serverGrid(request) {
    const query = new URLSearchParams({ seed: request.seed, n: request.n });
    if (request.className !== null) query.set("class", request.className);
    if (request.truncation !== null) query.set("truncation", request.truncation);
    const response = await fetch(`${versionPath()}:sample?${query}`);
    if (!response.ok) throw new Error((await response.json()).error);
    const bitmap = await createImageBitmap(await response.blob());
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext("2d");
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const pixels = new Uint8Array(bitmap.width * bitmap.height * 3);
    for (let p = 0; p < bitmap.width * bitmap.height; p++) {
      for (let k = 0; k < 3; k++) pixels[3 * p + k] = rgba[4 * p + k];
    }
    return { pixels, width: bitmap.width, height: bitmap.height, channels: 3 };
  }

  // The walk's frames are made once per setting; the slider only picks one.
  async function walk() {
    let seedA, seedB, steps;
    try {
      seedA = intValue("seed-a", 0);
      seedB = intValue("seed-b", 0);
      steps = intValue("steps", 2, 64);
    } catch (err) {
      showError(err.message);
      return;
    }
    $("position").max = String(steps - 1);
    if (Number($("position").value) > steps - 1) $("position").value = String(steps - 1);
    const key = JSON.stringify([seedA, seedB, steps, truncation(), $("class").value]);
    if (key !== state.framesKey) {
      // A walk keeps one class: the chosen one, or the first (as genart interpolate); with
      // latent-coded classes, the chosen one or whatever the latents code.
      const meta = state.model.metadata;
      const chosen = $("class").value === "" ? (meta.conditional ? 0 : null)
        : Number($("class").value);
      const walkLabels = classNames(meta) && chosen !== null
        ? new Array(steps).fill(chosen) : null;
      const result = await ask({ type: "walk", seedA, seedB, steps, truncation: truncation(),
                                 labels: walkLabels });
      state.frames = result;
      state.framesKey = key;
    }
    const i = Number($("position").value);
    const [, h, w, c] = state.frames.dims;
    const size = h * w * c;
    const frame = genartPng.makeGrid(state.frames.data.subarray(i * size, (i + 1) * size),
                                     [1, h, w, c]);
    draw($("frame"), frame, scaleFor(frame.width, 256));
    $("position-value").textContent = `${i} / ${steps - 1}`;
  }

  async function save() {
    const request = state.request;
    const blob = await new Promise((resolve) => $("grid").toBlob(resolve, "image/png"));
    const meta = state.model.metadata;
    const text = {
      "Software": "keras_genart studio",
      "keras_genart.model_type": meta.model_type,
      "keras_genart.model": `${state.model.name}/${state.model.version}`,
      "keras_genart.latents": meta.latent_recipe || "",
      "keras_genart.seed": String(request.seed),
      "keras_genart.n": String(request.n),
    };
    const names = classNames(meta);
    if (names) {
      text["keras_genart.classes"] = names.join(",");
      if (request.className !== null) text["keras_genart.class"] = request.className;
    }
    if (request.truncation !== null) text["keras_genart.truncation"] = String(request.truncation);
    const bytes = genartPng.withText(await blob.arrayBuffer(), text);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
    link.download = `${state.model.name}-v${state.model.version}-seed${request.seed}.png`;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  // --- models -------------------------------------------------------------------------------
  function describe(model) {
    const meta = model.metadata;
    const rows = [["type", meta.model_type], ["version", model.version],
                  ["picture", `${meta.image_size} x ${meta.image_size}, ${meta.channels} channel(s)`],
                  ["latent size", meta.latent_dim]];
    const names = classNames(meta);
    if (names) {
      rows.push([meta.conditional ? "classes" : "classes (coded in z)", names.join(", ")]);
    }
    if (meta.training_data && meta.training_data.source) {
      rows.push(["trained on", meta.training_data.source]);
    }
    if (meta.exported) rows.push(["exported", meta.exported]);
    $("about").replaceChildren(...rows.flatMap(([key, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = key;
      const dd = document.createElement("dd");
      dd.textContent = String(value);
      return [dt, dd];
    }));
    $("class-row").hidden = !names;
    const options = [new Option(meta.conditional ? "(the classes in turn)"
                                : "(any: as often as in the data)", "")];
    (names || []).forEach((name, i) => options.push(new Option(name, String(i))));
    $("class").replaceChildren(...options);
    const wanted = params.get("class");
    if (names && wanted !== null) {
      const index = names.indexOf(wanted);
      if (index < 0) throw new Error(`unknown class '${wanted}'; the classes are ` +
                                     names.join(", "));
      $("class").value = String(index);
    }
  }

  async function choose(name, version) {
    clearError();
    const entry = state.models.find((m) => m.name === name);
    if (!entry) {
      throw new Error(`unknown model '${name}'; this server has ` +
                      (state.models.map((m) => m.name).join(", ") || "no models"));
    }
    version = version || entry.latest;
    if (!entry.versions.includes(String(version))) {
      throw new Error(`model '${name}' has no served version ${version}; it serves ` +
                      entry.versions.join(", "));
    }
    let metadata = entry.metadata;
    if (String(version) !== entry.latest) {
      const response = await fetch(`/v1/models/${encodeURIComponent(name)}/versions/` +
                                   `${version}/files/metadata.json`);
      if (!response.ok) throw new Error((await response.json()).error);
      metadata = await response.json();
    }
    if (metadata.error) throw new Error(`model '${name}': ${metadata.error}`);
    state.model = { name, version: String(version), metadata };
    state.framesKey = "";
    $("model").value = `${name}/${version}`;
    describe(state.model);
    if (!state.serverOnly) {
      setState("loading");
      await ask({ type: "load", url: `${versionPath()}/files/model.onnx`,
                  latentDim: metadata.latent_dim, conditional: Boolean(metadata.conditional),
                  shares: metadata.latent_classes ? metadata.latent_classes.shares : null })
        .then((loaded) => { $("backend").textContent = `running in this browser: ${loaded.backend}`; });
    }
    await make();
  }

  async function start() {
    for (const [id, key] of [["seed", "seed"], ["n", "n"], ["truncation", "truncation"],
                             ["seed-a", "from"], ["seed-b", "to"], ["steps", "steps"]]) {
      if (params.has(key)) $(id).value = params.get(key);
    }
    $("truncation-value").textContent = truncation() === null ? "1 (none)" : $("truncation").value;
    state.serverOnly = typeof WebAssembly !== "object" || typeof Worker !== "function";
    if (state.serverOnly) {
      notice("WebAssembly is not available in this browser: the pictures come from the " +
             "server's :sample endpoint (no walks).");
      $("walk").disabled = true;
      $("backend").textContent = "running on the server";
    } else {
      state.worker = startWorker();
    }
    const response = await fetch("/studio/models.json");
    if (!response.ok) throw new Error(`the model list failed: ${response.status}`);
    state.models = (await response.json()).models;
    $("model").replaceChildren(...state.models.flatMap((m) => m.versions.map((v) =>
      new Option(`${m.name} — version ${v}`, `${m.name}/${v}`))));
    if (state.models.length === 0) throw new Error("this server has no models yet");
    await choose(params.get("model") || state.models[0].name, params.get("version"));
  }

  $("make").addEventListener("click", make);
  $("save").addEventListener("click", () => save().catch((err) => showError(err.message)));
  $("model").addEventListener("change", () => {
    const [name, version] = $("model").value.split("/");
    choose(name, version).catch((err) => showError(err.message));
  });
  $("truncation").addEventListener("input", () => {
    $("truncation-value").textContent = truncation() === null ? "1 (none)" : $("truncation").value;
  });
  for (const id of ["seed", "n", "truncation", "class"]) $(id).addEventListener("change", make);
  for (const id of ["seed-a", "seed-b", "steps", "position"]) {
    $(id).addEventListener(id === "position" ? "input" : "change", () => {
      if (!state.serverOnly && state.model) {
        walk().catch((err) => showError(err.message));
      }
    });
  }
  start().catch((err) => showError(err.message));
})();
