// Runs an exported keras_genart generator with onnxruntime-node, no Python or TensorFlow.
//
//   node generate.js VERSION_DIR Z.json OUT.json
//
// VERSION_DIR is a folder written by `genart export` (model.onnx + metadata.json).
// Z.json holds {"z": [[...latent_dim numbers...], ...]}: the latents. Draw them with
// keras_genart's recipe (numpy.random.default_rng(seed).standard_normal((n, latent_dim)))
// to get the same pictures as Python; JavaScript has no bit-identical PCG64 normal
// sampler, so the latents travel as data. A conditional model (metadata "conditional")
// also takes "label": one class per latent, an index or a name of metadata.class_names.
// OUT.json receives
// {"shape": [n, H, W, C], "images": [flat float32 values in [0, 1]]}.
"use strict";
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

async function main() {
  const [versionDir, zPath, outPath] = process.argv.slice(2);
  if (!versionDir || !zPath || !outPath) {
    console.error("usage: node generate.js VERSION_DIR Z.json OUT.json");
    process.exit(2);
  }
  const metadata = JSON.parse(fs.readFileSync(path.join(versionDir, "metadata.json"), "utf8"));
  const z = JSON.parse(fs.readFileSync(zPath, "utf8")).z;
  const latentDim = metadata.latent_dim;
  if (!Array.isArray(z) || z.some((row) => !Array.isArray(row) || row.length !== latentDim)) {
    console.error(`z must be a list of ${latentDim}-number rows`);
    process.exit(2);
  }
  const feeds = {
    z: new ort.Tensor("float32", Float32Array.from(z.flat()), [z.length, latentDim]),
  };
  if (metadata.conditional) {
    feeds.label = labelTensor(JSON.parse(fs.readFileSync(zPath, "utf8")).label, z.length,
                              metadata.class_names);
  }
  const session = await ort.InferenceSession.create(path.join(versionDir, "model.onnx"));
  const result = await session.run(feeds);
  const images = result.images;
  fs.writeFileSync(outPath, JSON.stringify({ shape: images.dims, images: Array.from(images.data) }));
  console.log(`wrote ${z.length} images of ${images.dims.slice(1).join("x")} to ${outPath}`);
}

// One int64 class index per latent, from indices or class names.
function labelTensor(labels, n, classNames) {
  if (!Array.isArray(labels) || labels.length !== n) {
    fail(`this model is conditional: Z.json needs "label", one class per latent (${n}), ` +
         `an index or one of ${classNames.join(", ")}`);
  }
  const indices = labels.map((label) => {
    const index = typeof label === "string" ? classNames.indexOf(label) : label;
    if (!Number.isInteger(index) || index < 0 || index >= classNames.length) {
      fail(`label ${JSON.stringify(label)} is not a class: give a name of ` +
           `${classNames.join(", ")} or an index from 0 to ${classNames.length - 1}`);
    }
    return BigInt(index);
  });
  return new ort.Tensor("int64", BigInt64Array.from(indices), [n]);
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
