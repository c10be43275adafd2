// Runs an exported keras_genart generator with onnxruntime-node, no Python or TensorFlow.
//
//   node generate.js VERSION_DIR Z.json OUT.json
//
// VERSION_DIR is a folder written by `genart export` (model.onnx + metadata.json).
// Z.json holds {"z": [[...latent_dim numbers...], ...]}: the latents. Draw them with
// keras_genart's recipe (numpy.random.default_rng(seed).standard_normal((n, latent_dim)))
// to get the same pictures as Python; JavaScript has no bit-identical PCG64 normal
// sampler, so the latents travel as data. OUT.json receives
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
  const session = await ort.InferenceSession.create(path.join(versionDir, "model.onnx"));
  const input = new ort.Tensor("float32", Float32Array.from(z.flat()), [z.length, latentDim]);
  const result = await session.run({ z: input });
  const images = result.images;
  fs.writeFileSync(outPath, JSON.stringify({ shape: images.dims, images: Array.from(images.data) }));
  console.log(`wrote ${z.length} images of ${images.dims.slice(1).join("x")} to ${outPath}`);
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
