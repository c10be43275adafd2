// Runs an exported keras_genart generator with onnxruntime-node, no Python or TensorFlow.
//
//   node generate.js VERSION_DIR --seed 1 [--n 16] [--class NAME] [--truncation 0.7]
//                    [--out grid.png | --out images.json]
//   node generate.js VERSION_DIR Z.json OUT.json
//
// VERSION_DIR is a folder written by `genart export` (model.onnx + metadata.json).
//
// With --seed the latents come from keras_genart's recipe, ported in latents.js
// (numpy.random.default_rng(seed).standard_normal((n, latent_dim)) as float32, and the
// truncation redraws): the same seed, class and truncation give the same pictures as
// `genart sample`, the Python runtime and the server's :sample. --out *.png writes them as
// one grid (the layout of `genart sample`) with provenance text chunks; *.json writes
// {"shape": [n, H, W, C], "images": [flat float32 values in [0, 1]]}.
//
// With Z.json the latents travel as data: {"z": [[...latent_dim numbers...], ...]}, and,
// for a conditional model (metadata "conditional"), "label": one class per latent, an
// index or a name of metadata.class_names. OUT.json receives the JSON above. A model
// with latent-coded classes (metadata "latent_classes") takes z alone; --class moves the
// seed's latents into the class's arc (latents.latentsInClasses), as Python does.
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const ort = require("onnxruntime-node");
const latents = require("./latents.js");
const png = require("./png.js");

const USAGE = "usage: node generate.js VERSION_DIR --seed S [--n N] [--class NAME] " +
  "[--truncation PSI] [--out FILE.png|FILE.json]\n" +
  "       node generate.js VERSION_DIR Z.json OUT.json";

async function main() {
  const args = process.argv.slice(2);
  const versionDir = args[0];
  if (!versionDir || args.length < 2) fail(USAGE);
  let metadata;
  try {
    metadata = JSON.parse(fs.readFileSync(path.join(versionDir, "metadata.json"), "utf8"));
  } catch (err) {
    fail(`${versionDir} is not an exported version folder (metadata.json: ${err.message})`);
  }
  const latentDim = metadata.latent_dim;
  let z, labels, outPath, request, className = null;
  if (args[1].startsWith("--")) {
    request = parseOptions(args.slice(1));
    z = latents.sampleTruncatedLatents(request.n, latentDim, request.seed, request.truncation);
    const coded = metadata.latent_classes;
    if (coded && request.label !== null) {
      // Latent-coded classes: the class asked for moves the latents into its arc (as
      // Python's generate); the model itself takes z alone.
      const asked = classesFor(request.label, request.n, coded.class_names);
      z = latents.latentsInClasses(z, latentDim, asked, coded.shares);
      className = coded.class_names[asked[0]];
    } else {
      labels = metadata.conditional ? classesFor(request.label, request.n, metadata.class_names)
        : noLabel(request.label);
      if (labels && request.label !== null) className = metadata.class_names[labels[0]];
    }
    outPath = request.out;
  } else {
    const [zPath, out] = args.slice(1);
    if (!out) fail(USAGE);
    const input = JSON.parse(fs.readFileSync(zPath, "utf8"));
    const rows = input.z;
    if (!Array.isArray(rows) || rows.length === 0 ||
        rows.some((row) => !Array.isArray(row) || row.length !== latentDim)) {
      fail(`z must be a list of ${latentDim}-number rows`);
    }
    z = Float32Array.from(rows.flat());
    if (metadata.conditional) {
      if (!Array.isArray(input.label) || input.label.length !== rows.length) {
        fail(`this model is conditional: Z.json needs "label", one class per latent ` +
             `(${rows.length}), an index or one of ${metadata.class_names.join(", ")}`);
      }
      labels = input.label.map((label) => classIndex(label, metadata.class_names));
    }
    outPath = out;
  }
  const n = z.length / latentDim;
  const feeds = { z: new ort.Tensor("float32", z, [n, latentDim]) };
  if (labels) feeds.label = new ort.Tensor("int64", BigInt64Array.from(labels.map(BigInt)), [n]);
  const session = await ort.InferenceSession.create(path.join(versionDir, "model.onnx"));
  const images = (await session.run(feeds)).images;
  if (outPath.toLowerCase().endsWith(".png")) {
    const chunks = {
      "Software": "keras_genart Node example (onnxruntime-node)",
      "keras_genart.model_type": String(metadata.model_type),
      "keras_genart.model": `${metadata.name}/${metadata.version}`,
      "keras_genart.latents": metadata.latent_recipe || "",
      "keras_genart.n": String(n),
    };
    if (request) chunks["keras_genart.seed"] = String(request.seed);
    if (request && request.truncation !== null) {
      chunks["keras_genart.truncation"] = String(request.truncation);
    }
    if (className !== null) chunks["keras_genart.class"] = className;  // a name, as Python's
    fs.writeFileSync(outPath, png.encodePng(png.makeGrid(images.data, images.dims), chunks,
                                            zlib.deflateSync));
  } else {
    fs.writeFileSync(outPath, JSON.stringify({ shape: images.dims,
                                               images: Array.from(images.data) }));
  }
  console.log(`wrote ${n} images of ${images.dims.slice(1).join("x")} to ${outPath}`);
}

function parseOptions(options) {
  const request = { seed: null, n: 16, label: null, truncation: null, out: "artwork.png" };
  for (let i = 0; i < options.length; i += 2) {
    const [flag, value] = [options[i], options[i + 1]];
    if (value === undefined) fail(`${flag} needs a value\n${USAGE}`);
    if (flag === "--seed" || flag === "--n") {
      if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)) ||
          (flag === "--n" && Number(value) < 1)) {
        fail(`${flag} must be a ${flag === "--n" ? "positive" : "non-negative"} integer, ` +
             `got ${value}`);
      }
      request[flag.slice(2)] = Number(value);
    } else if (flag === "--truncation") {
      const psi = Number(value);
      if (!(psi >= latents.MIN_TRUNCATION && psi <= 1)) {
        fail(`--truncation must be in [${latents.MIN_TRUNCATION}, 1], got ${value}`);
      }
      request.truncation = psi;
    } else if (flag === "--class") {
      request.label = value;
    } else if (flag === "--out") {
      if (!/\.(png|json)$/i.test(value)) fail(`--out ${value}: write a .png grid or .json`);
      request.out = value;
    } else {
      fail(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (request.seed === null) fail(`--seed is required\n${USAGE}`);
  return request;
}

// One class index per picture: the class asked for, or the classes in turn (as Python).
function classesFor(label, n, classNames) {
  if (label === null) return Array.from({ length: n }, (_, i) => i % classNames.length);
  const named = classNames.indexOf(label);
  const index = named >= 0 ? named : (/^[0-9]+$/.test(label) ? Number(label) : label);
  return new Array(n).fill(classIndex(index, classNames));
}

function noLabel(label) {
  if (label !== null) fail("this model is not conditional: it takes no --class");
  return null;
}

function classIndex(label, classNames) {
  const index = typeof label === "string" ? classNames.indexOf(label) : label;
  if (!Number.isInteger(index) || index < 0 || index >= classNames.length) {
    fail(`label ${JSON.stringify(label)} is not a class: give a name of ` +
         `${classNames.join(", ")} or an index from 0 to ${classNames.length - 1}`);
  }
  return index;
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
