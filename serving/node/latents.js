// keras_genart's latent recipe in JavaScript: the same latents as Python for the same seed.
//
//   sampleLatents(n, latentDim, seed)            numpy.random.default_rng(seed)
//                                                  .standard_normal((n, latentDim))
//                                                  .astype(float32)
//   sampleTruncatedLatents(n, latentDim, seed, psi)   keras_genart.latents'
//                                                  sample_truncated_latents
//   slerp(a, b, steps)                            keras_genart.latents.slerp
//   latentsInClasses(z, latentDim, labels, shares)    keras_genart.latents'
//                                                  latents_in_classes (latent-coded classes)
//
// A port of what NumPy's default_rng does, written from its published algorithms:
// SeedSequence (O'Neill's seed_seq hashing), the PCG64 generator (XSL-RR output of a
// 128-bit LCG, in BigInt) and the 256-strip ziggurat for normals (Marsaglia & Tsang
// 2000, strips computed here from r = 3.6541528853610088). The tables agree with
// NumPy's to the last bit or two of a double, which the float32 latents cannot show:
// the test suite checks float32 equality with NumPy for seeds 0..999.
//
// Works in Node (require) and in a browser or Web Worker (globalThis.genartLatents).
"use strict";

(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.genartLatents = api;
  }
})(typeof self !== "undefined" ? self : this, function () {
  const MASK32 = 0xffffffff;
  const MASK64 = (1n << 64n) - 1n;
  const MASK128 = (1n << 128n) - 1n;

  // --- SeedSequence: entropy words -> the generator's initial state --------------------
  const INIT_A = 0x43b0d7e5, MULT_A = 0x931e8875, INIT_B = 0x8b51f9dd, MULT_B = 0x58f38ded;
  const MIX_MULT_L = 0xca01f9dd, MIX_MULT_R = 0x4973f715, XSHIFT = 16, POOL_SIZE = 4;

  // A non-negative integer (Number or BigInt) as little-endian uint32 words; 0 is [0].
  function entropyWords(value) {
    let big = BigInt(value);
    if (big < 0n) throw new RangeError(`seed must be a non-negative integer, got ${value}`);
    const words = [];
    do {
      words.push(Number(big & 0xffffffffn));
      big >>= 32n;
    } while (big > 0n);
    return words;
  }

  function seedSequenceState(entropy, nWords32) {
    const hashConst = { a: INIT_A };
    function hashmix(value) {
      value = (value ^ hashConst.a) >>> 0;
      hashConst.a = Math.imul(hashConst.a, MULT_A) >>> 0;
      value = Math.imul(value, hashConst.a) >>> 0;
      return (value ^ (value >>> XSHIFT)) >>> 0;
    }
    function mix(x, y) {
      let result = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
      return (result ^ (result >>> XSHIFT)) >>> 0;
    }
    const pool = new Array(POOL_SIZE);
    for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
    for (let src = 0; src < POOL_SIZE; src++) {
      for (let dst = 0; dst < POOL_SIZE; dst++) {
        if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
      }
    }
    for (let src = POOL_SIZE; src < entropy.length; src++) {
      for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
    }
    const state = new Array(nWords32);
    let h = INIT_B;
    for (let i = 0; i < nWords32; i++) {
      let value = (pool[i % POOL_SIZE] ^ h) >>> 0;
      h = Math.imul(h, MULT_B) >>> 0;
      value = Math.imul(value, h) >>> 0;
      state[i] = (value ^ (value >>> XSHIFT)) >>> 0;
    }
    return state;
  }

  // --- PCG64 --------------------------------------------------------------------------
  const PCG_MULT = (2549297995355413924n << 64n) + 4865540595714422341n;

  class PCG64 {
    // `seed`: a non-negative integer, or an array of them (like default_rng([seed, 1])).
    constructor(seed) {
      const parts = Array.isArray(seed) ? seed : [seed];
      const entropy = [].concat(...parts.map(entropyWords));
      const w = seedSequenceState(entropy, 8).map(BigInt);
      const u64 = (k) => w[2 * k] | (w[2 * k + 1] << 32n);
      const initState = (u64(0) << 64n) | u64(1);
      const initSeq = (u64(2) << 64n) | u64(3);
      this.inc = ((initSeq << 1n) | 1n) & MASK128;
      this.state = 0n;
      this.step();
      this.state = (this.state + initState) & MASK128;
      this.step();
    }

    step() {
      this.state = (this.state * PCG_MULT + this.inc) & MASK128;
    }

    nextUint64() {
      this.step();
      const s = this.state;
      const value = ((s >> 64n) ^ s) & MASK64;
      const rot = s >> 122n;
      return ((value >> rot) | (value << ((64n - rot) & 63n))) & MASK64;
    }

    nextDouble() {
      return Number(this.nextUint64() >> 11n) / 9007199254740992;
    }
  }

  // --- the ziggurat -------------------------------------------------------------------
  const R = 3.6541528853610088;
  const INV_R = 1 / R;
  // The area of each strip for this r: r f(r) + the tail's integral (f(x) = exp(-x^2/2)).
  const V = 0.004928673233974658;
  const KI = new Array(256), WI = new Float64Array(256), FI = new Float64Array(256);
  (function buildTables() {
    const m1 = 4503599627370496; // 2^52
    let dn = R, tn = R;
    const q = V / Math.exp(-0.5 * dn * dn);
    KI[0] = BigInt(Math.floor((dn / q) * m1));
    KI[1] = 0n;
    WI[0] = q / m1;
    WI[255] = dn / m1;
    FI[0] = 1;
    FI[255] = Math.exp(-0.5 * dn * dn);
    for (let i = 254; i >= 1; i--) {
      dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
      KI[i + 1] = BigInt(Math.floor((dn / tn) * m1));
      tn = dn;
      FI[i] = Math.exp(-0.5 * dn * dn);
      WI[i] = dn / m1;
    }
  })();

  function standardNormal(rng) {
    for (;;) {
      let r = rng.nextUint64();
      const idx = Number(r & 0xffn);
      r >>= 8n;
      const negative = (r & 1n) === 1n;
      const rabs = (r >> 1n) & 0x000fffffffffffffn;
      let x = Number(rabs) * WI[idx];
      if (negative) x = -x;
      if (rabs < KI[idx]) return x;
      if (idx === 0) {
        for (;;) {
          const xx = -INV_R * Math.log1p(-rng.nextDouble());
          const yy = -Math.log1p(-rng.nextDouble());
          if (yy + yy > xx * xx) return ((rabs >> 8n) & 1n) === 1n ? -(R + xx) : R + xx;
        }
      } else if ((FI[idx - 1] - FI[idx]) * rng.nextDouble() + FI[idx] < Math.exp(-0.5 * x * x)) {
        return x;
      }
    }
  }

  function checkCount(n, what) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be at least 1, got ${n}`);
  }

  function checkSeed(seed) {
    if (!(Number.isSafeInteger(seed) || typeof seed === "bigint") || seed < 0) {
      throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    }
  }

  // float32 latents (n rows of latentDim, row-major), as keras_genart.latents.sample_latents.
  function sampleLatents(n, latentDim, seed = 0) {
    checkCount(n, "n");
    checkCount(latentDim, "latentDim");
    checkSeed(seed);
    const rng = new PCG64(seed);
    const out = new Float32Array(n * latentDim);
    for (let i = 0; i < out.length; i++) out[i] = standardNormal(rng);
    return out;
  }

  // erf by its Maclaurin series up to 3 and a continued fraction beyond (|error| < 1e-14,
  // plenty for a threshold that only decides which of the latents' values are redrawn).
  function erf(x) {
    if (x < 0) return -erf(-x);
    if (x < 3) {
      let term = x, sum = x;
      for (let n = 1; n < 200; n++) {
        term *= (-x * x) / n;
        const add = term / (2 * n + 1);
        sum += add;
        if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    }
    let t = x;
    for (let k = 400; k >= 1; k--) t = x + (k / 2) / t;
    return 1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
  }

  // keras_genart.latents.MIN_TRUNCATION and MAX_REDRAW_ROUNDS: the smallest truncation
  // taken (below it the redraws cost ~1 / psi draws a value) and the redraw rounds per row
  // before the values still beyond are clipped (a cap no seed is expected to reach).
  const MIN_TRUNCATION = 0.05;
  const MAX_REDRAW_ROUNDS = 1000;

  function checkTruncation(psi) {
    if (typeof psi !== "number" || !(psi >= MIN_TRUNCATION && psi <= 1)) {
      throw new RangeError(`truncation must be in [${MIN_TRUNCATION}, 1], got ${psi}`);
    }
    return psi;
  }

  // The |z| beyond which a truncated latent is redrawn: the (1 + psi) / 2 quantile.
  function truncationThreshold(psi) {
    checkTruncation(psi);
    if (psi === 1) return Infinity;
    let low = 0, high = 40;
    for (let i = 0; i < 200; i++) {
      const middle = 0.5 * (low + high);
      if (erf(middle / Math.SQRT2) < psi) low = middle;
      else high = middle;
    }
    return 0.5 * (low + high);
  }

  // keras_genart.latents.sample_truncated_latents: values beyond the threshold are
  // redrawn, row by row, from default_rng([seed, 1]).
  function sampleTruncatedLatents(n, latentDim, seed = 0, psi = null) {
    if (psi === null || psi === undefined || checkTruncation(psi) === 1) {
      return sampleLatents(n, latentDim, seed);
    }
    checkCount(n, "n");
    checkCount(latentDim, "latentDim");
    checkSeed(seed);
    const threshold = truncationThreshold(psi);
    const rng = new PCG64(seed);
    const z = new Float64Array(n * latentDim);
    for (let i = 0; i < z.length; i++) z[i] = standardNormal(rng);
    const redraw = new PCG64([seed, 1]);
    for (let row = 0; row < n; row++) {
      const [start, end] = [row * latentDim, (row + 1) * latentDim];
      for (let round = 0; round < MAX_REDRAW_ROUNDS; round++) {
        const beyond = [];
        for (let j = start; j < end; j++) {
          if (Math.abs(z[j]) > threshold) beyond.push(j);
        }
        if (beyond.length === 0) break;
        for (const j of beyond) z[j] = standardNormal(redraw);
      }
      for (let j = start; j < end; j++) z[j] = Math.min(threshold, Math.max(-threshold, z[j]));
    }
    return Float32Array.from(z);
  }

  // keras_genart.latents.slerp: `steps` latents on the great circle from a to b, ends
  // exact; (anti)parallel latents get the straight line. float32 (steps * dim), row-major.
  function slerp(a, b, steps) {
    if (a.length !== b.length || a.length === 0) {
      throw new RangeError(`slerp needs two latent vectors of one size, got ${a.length} and ${b.length}`);
    }
    if (!Number.isInteger(steps) || steps < 2) {
      throw new RangeError(`steps must be at least 2 (both ends), got ${steps}`);
    }
    let dot = 0, na = 0, nb = 0;
    for (let j = 0; j < a.length; j++) {
      dot += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
    }
    const cos = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-12);
    const omega = Math.acos(Math.min(1, Math.max(-1, cos)));
    const out = new Float32Array(steps * a.length);
    for (let i = 0; i < steps; i++) {
      const t = i / (steps - 1);
      for (let j = 0; j < a.length; j++) {
        let value;
        if (i === 0) value = a[j];
        else if (i === steps - 1) value = b[j];
        else if (Math.sin(omega) < 1e-6) value = (1 - t) * a[j] + t * b[j];
        else value = (Math.sin((1 - t) * omega) * a[j] + Math.sin(t * omega) * b[j]) / Math.sin(omega);
        out[i * a.length + j] = value;
      }
    }
    return out;
  }

  // keras_genart.latents.latents_in_classes, for a model with latent-coded classes
  // (metadata.latent_classes): each row's (z[0], z[1]) keeps its length and turns into
  // its class's arc of the angle, at the place in the arc where its angle was on the
  // circle. z is float32 (n * latentDim), row-major; labels one class index per row;
  // shares the classes' shares (metadata.latent_classes.shares). A new Float32Array.
  const ARC_MARGIN = 1e-3;  // keras_genart.latents.ARC_MARGIN

  function latentsInClasses(z, latentDim, labels, shares) {
    const n = labels.length;
    if (latentDim < 2 || z.length !== n * latentDim) {
      throw new RangeError(`latents that code classes need ${n} rows of 2 or more values`);
    }
    const total = shares.reduce((a, b) => a + b, 0);
    if (shares.length < 2 || !shares.every((s) => s > 0 && Number.isFinite(s))) {
      throw new RangeError(`class shares must be two or more positive numbers, got ${shares}`);
    }
    const widths = shares.map((s) => s / total);
    const starts = widths.map((_, k) => widths.slice(0, k).reduce((a, b) => a + b, 0));
    const out = Float32Array.from(z);
    for (let i = 0; i < n; i++) {
      const k = labels[i];
      if (!Number.isInteger(k) || k < 0 || k >= widths.length) {
        throw new RangeError(`label ${k} is not a class index from 0 to ${widths.length - 1}`);
      }
      const x = Math.fround(z[i * latentDim]), y = Math.fround(z[i * latentDim + 1]);
      const u = Math.min(Math.max((Math.atan2(y, x) + Math.PI) / (2 * Math.PI), 0), 1);
      const place = starts[k] + (ARC_MARGIN + (1 - 2 * ARC_MARGIN) * u) * widths[k];
      const theta = 2 * Math.PI * place - Math.PI;
      const radius = Math.hypot(x, y);
      out[i * latentDim] = radius * Math.cos(theta);
      out[i * latentDim + 1] = radius * Math.sin(theta);
    }
    return out;
  }

  return { PCG64, entropyWords, seedSequenceState, sampleLatents, sampleTruncatedLatents,
           truncationThreshold, standardNormal, slerp, latentsInClasses, MIN_TRUNCATION,
           MAX_REDRAW_ROUNDS };
});
