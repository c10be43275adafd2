#!/usr/bin/env bash
# Refreshes serving/studio/vendor/ from the npm registry: onnxruntime-web's WebGPU build
# at a pinned version (the UMD script ort.webgpu.min.js, its loader and its SIMD wasm
# binary, which runs the WebAssembly CPU backend too: one binary for both).
#   serving/studio/update_vendor.sh [VERSION]     (default: the pinned one below)
# The files are committed, so that the studio works offline after `pip install`.
set -euo pipefail
VERSION="${1:-1.30.0}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack "onnxruntime-web@$VERSION" --silent >/dev/null && tar xzf onnxruntime-web-*.tgz)
mkdir -p "$HERE/vendor"
rm -f "$HERE"/vendor/ort*
FILES="ort.webgpu.min.js ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm"
for file in $FILES; do
  cp "$WORK/package/dist/$file" "$HERE/vendor/$file"
done
echo "onnxruntime-web $VERSION (npm), files: $FILES" > "$HERE/vendor/VERSION.txt"
node -e "const p=require('$WORK/package/package.json'); if (p.license !== 'MIT') { console.error('licence changed: ' + p.license); process.exit(1); }"
echo "vendored onnxruntime-web $VERSION into $HERE/vendor"
