// The studio's Web Worker: draws latents with keras_genart's recipe (latents.js) and runs
// the exported generator with onnxruntime-web, off the page's thread: on the GPU with
// WebGPU where the browser has it, else on the CPU with WebAssembly.
//
// Messages in:  {type: "load", url, latentDim, conditional, shares (latent-coded classes)}
//               {type: "sample", id, n, seed, truncation, labels}
//               {type: "walk", id, seedA, seedB, steps, truncation, labels}
// Messages out: {type: "loaded", backend} | {type: "images", id, data, dims, ms}
//               | {type: "error", id, message}
"use strict";
// Not in git: npm installs onnxruntime-web's files (serving/node), a built wheel holds them.
const ASSETS_HINT = "onnxruntime-web's files did not load: run `make assets` in the " +
  "keras_genart checkout (npm ci in serving/node), or install a keras_genart wheel built with them";
importScripts("latents.js");
let assetsError = null;  // reported by the first load, as the page's one error line
try {
  importScripts("vendor/ort.webgpu.min.js");
} catch (err) {
  assetsError = new Error(`${ASSETS_HINT} (${err.message || err})`);
}

let session = null;
let latentDim = 0;
let conditional = false;
let latentShares = null;  // a model with latent-coded classes: its classes' shares

if (assetsError === null) {
  ort.env.wasm.wasmPaths = new URL("vendor/", self.location.href).href;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty here
  ort.env.wasm.proxy = false;  // already off the page's thread
}

async function gpuAvailable() {
  try {
    return Boolean(self.navigator && self.navigator.gpu && await self.navigator.gpu.requestAdapter());
  } catch (_) {
    return false;
  }
}

async function load({ url, latentDim: dim, conditional: isConditional, shares }) {
  if (assetsError !== null) throw assetsError;
  const response = await fetch(url);
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).error || detail; } catch (_) { /* not JSON */ }
    throw new Error(`could not fetch ${url}: ${detail}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  let backend = "WebAssembly";
  session = null;
  if (await gpuAvailable()) {
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ["webgpu"] });
      backend = "WebGPU";
    } catch (err) {
      console.warn(`WebGPU could not run ${url} (${err.message || err}); using WebAssembly`);
    }
  }
  if (session === null) {
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    } catch (err) {
      throw new Error(`onnxruntime-web could not load ${url}: ${err.message || err}`);
    }
  }
  latentDim = dim;
  conditional = isConditional;
  latentShares = shares || null;
  const expected = conditional ? ["z", "label"] : ["z"];
  if (JSON.stringify(session.inputNames) !== JSON.stringify(expected)) {
    throw new Error(`the model takes ${session.inputNames.join(", ")}; the studio expected ` +
                    expected.join(", "));
  }
  return { type: "loaded", backend: `onnxruntime-web ${ort.env.versions.web} (${backend})` };
}

async function run(z, n, labels) {
  if (!session) throw new Error("no model is loaded");
  if (latentShares && labels) {  // asked for a class: the latents move into its arc
    z = genartLatents.latentsInClasses(z, latentDim, labels, latentShares);
  }
  const feeds = { z: new ort.Tensor("float32", z, [n, latentDim]) };
  if (conditional) {
    feeds.label = new ort.Tensor("int64", BigInt64Array.from(labels, (v) => BigInt(v)), [n]);
  }
  const started = performance.now();
  const output = (await session.run(feeds)).images;
  return { data: output.data, dims: output.dims, ms: performance.now() - started };
}

self.onmessage = async ({ data: message }) => {
  try {
    if (message.type === "load") {
      self.postMessage({ ...(await load(message)), id: message.id });
      return;
    }
    let z, n;
    if (message.type === "sample") {
      n = message.n;
      z = genartLatents.sampleTruncatedLatents(n, latentDim, message.seed, message.truncation);
    } else if (message.type === "walk") {
      const ends = [message.seedA, message.seedB].map((seed) =>
        genartLatents.sampleTruncatedLatents(1, latentDim, seed, message.truncation));
      n = message.steps;
      z = genartLatents.slerp(ends[0], ends[1], n);
    } else {
      throw new Error(`unknown message ${message.type}`);
    }
    const result = await run(z, n, message.labels);
    self.postMessage({ type: "images", id: message.id, ...result }, [result.data.buffer]);
  } catch (err) {
    self.postMessage({ type: "error", id: message.id, message: err.message || String(err) });
  }
};
