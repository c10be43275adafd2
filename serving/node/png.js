// PNG files with keras_genart's provenance text chunks, for Node and browsers.
//
//   encodePng({pixels, width, height, channels}, text, deflate)   8-bit gray or RGB
//   withText(pngBytes, text)      a PNG (say, from canvas.toBlob) with tEXt chunks added
//
// `text` is {key: value} (Latin-1, as PNG's tEXt); `deflate` compresses bytes with zlib
// (Node: zlib.deflateSync). Works in Node (require) and in a browser (globalThis.genartPng).
"use strict";

(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.genartPng = api;
  }
})(typeof self !== "undefined" ? self : this, function () {
  const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
  const CRC_TABLE = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    CRC_TABLE[n] = c >>> 0;
  }

  function crc32(bytes) {
    let c = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  function latin1(text) {
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      bytes[i] = code < 256 ? code : 63; // "?" for what Latin-1 cannot hold
    }
    return bytes;
  }

  function concat(parts) {
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  function chunk(type, data) {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(latin1(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  }

  function textChunks(text) {
    return Object.entries(text).map(([key, value]) =>
      chunk("tEXt", concat([latin1(key), new Uint8Array([0]), latin1(String(value))])));
  }

  function encodePng({ pixels, width, height, channels }, text, deflate) {
    const header = new Uint8Array(13);
    const view = new DataView(header.buffer);
    view.setUint32(0, width);
    view.setUint32(4, height);
    header[8] = 8;
    header[9] = channels === 1 ? 0 : 2;
    const stride = width * channels;
    const raw = new Uint8Array((stride + 1) * height);
    for (let y = 0; y < height; y++) {
      raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
    }
    return concat([new Uint8Array(SIGNATURE), chunk("IHDR", header), ...textChunks(text),
                   chunk("IDAT", new Uint8Array(deflate(raw))), chunk("IEND", new Uint8Array(0))]);
  }

  // The text chunks go right after IHDR (the first chunk, 8 + 25 bytes in).
  function withText(png, text) {
    png = new Uint8Array(png);
    if (SIGNATURE.some((byte, i) => png[i] !== byte)) throw new Error("not a PNG file");
    const afterHeader = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
    return concat([png.subarray(0, afterHeader), ...textChunks(text), png.subarray(afterHeader)]);
  }

  // keras_genart.imaging.to_uint8: float32 x * 255, rounded half to even, clipped.
  function toUint8(value) {
    const scaled = Math.fround(value * 255);
    let rounded = Math.round(scaled);
    if (Math.abs(scaled % 1) === 0.5) rounded = 2 * Math.round(scaled / 2);
    return Math.min(255, Math.max(0, rounded));
  }

  // keras_genart.imaging.make_grid: images (n, h, w, c) in [0, 1] as uint8 tiles,
  // `cols` columns (default ceil(sqrt(n))), 2 px of white around each.
  function makeGrid(data, [n, h, w, c], cols) {
    cols = cols || Math.ceil(Math.sqrt(n));
    const rows = Math.ceil(n / cols);
    const pad = 2;
    const width = cols * (w + pad) + pad, height = rows * (h + pad) + pad;
    const pixels = new Uint8Array(width * height * c).fill(255);
    for (let i = 0; i < n; i++) {
      const y0 = pad + Math.floor(i / cols) * (h + pad), x0 = pad + (i % cols) * (w + pad);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) {
            pixels[((y0 + y) * width + x0 + x) * c + k] =
              toUint8(data[((i * h + y) * w + x) * c + k]);
          }
        }
      }
    }
    return { pixels, width, height, channels: c };
  }

  return { crc32, chunk, encodePng, withText, toUint8, makeGrid };
});
