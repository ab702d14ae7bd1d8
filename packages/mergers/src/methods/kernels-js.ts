/**
 * The element-wise loops of the merge methods, in TypeScript. They define the arithmetic: the native kernels
 * (@m2rl/kernels-native/merge, csrc/merge.c) reproduce them bitwise, and they run wherever the addon is absent.
 * `kernels.ts` picks one of the two.
 *
 * Precision: weighted sums and task arithmetic accumulate in double and round once when stored; the TIES sign
 * election and disjoint mean run in float32 arithmetic throughout (each step rounded with Math.fround, as a
 * float32 framework computes it), which is what lets the native kernel vectorise it.
 */

import type { MergeKernels } from "@m2rl/core/merge";

export type { MergeKernels } from "@m2rl/core/merge";

const fr = Math.fround;

export const jsKernels: MergeKernels = {
  weightedSum(out, xs, w, scale) {
    const n = out.length;
    if (xs.length === 3) {
      const [a, b, c] = xs;
      const [wa, wb, wc] = w;
      for (let j = 0; j < n; j++) out[j] = (wa * a[j] + wb * b[j] + wc * c[j]) * scale;
      return;
    }
    for (let j = 0; j < n; j++) {
      let s = w[0] * xs[0][j]; // the first term, not 0 + it: keeps the sign of a zero (as the kernel does)
      for (let i = 1; i < xs.length; i++) s += w[i] * xs[i][j];
      out[j] = s * scale;
    }
  },

  taskArithmetic(out, base, xs, w, scale) {
    const n = out.length;
    if (xs.length === 3) {
      const [a, c, e] = xs;
      const [wa, wc, we] = w;
      for (let j = 0; j < n; j++) {
        const b = base[j];
        out[j] = b + scale * (wa * (a[j] - b) + wc * (c[j] - b) + we * (e[j] - b));
      }
      return;
    }
    for (let j = 0; j < n; j++) {
      const b = base[j];
      let s = w[0] * (xs[0][j] - b);
      for (let i = 1; i < xs.length; i++) s += w[i] * (xs[i][j] - b);
      out[j] = b + scale * s;
    }
  },

  subtract(out, a, b) {
    for (let j = 0; j < out.length; j++) out[j] = a[j] - b[j];
  },

  combine(out, base, deltas, w, scale) {
    const n = out.length;
    for (let j = 0; j < n; j++) {
      let s = w[0] * deltas[0][j];
      for (let i = 1; i < deltas.length; i++) s += w[i] * deltas[i][j];
      out[j] = base[j] + s * scale;
    }
  },

  consensus(out, base, deltas, w, thresholds, count, normalize, lambda) {
    const n = out.length;
    const m = deltas.length;
    const fw = Float64Array.from(w, fr);
    const ft = Float64Array.from(thresholds, fr);
    const lam = fr(lambda);
    const x = new Float64Array(m);
    for (let j = 0; j < n; j++) {
      let e = 0;
      let ec = 0;
      for (let i = 0; i < m; i++) {
        const d = deltas[i][j];
        const v = fr(fw[i] * d) * +(Math.abs(d) >= ft[i]);
        x[i] = v;
        e = fr(e + v);
        ec += +(v > 0) - +(v < 0);
      }
      if (count) e = ec;
      let s = 0;
      let div = 0;
      for (let i = 0; i < m; i++) {
        const v = x[i];
        const k = +((v > 0 && e > 0) || (v < 0 && e < 0));
        s = fr(s + v * k);
        div = fr(div + fw[i] * k);
      }
      const dd = normalize ? div + +(div === 0) : 1;
      out[j] = base[j] + fr(lam * fr(s / dd));
    }
  },

  erase(out, base, deltas, w) {
    const n = out.length;
    const m = deltas.length;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += deltas[i][j];
      let num = 0;
      let den = 0;
      for (let i = 0; i < m; i++) {
        const d = deltas[i][j];
        const k = +((d > 0 && s > 0) || (d < 0 && s < 0));
        num += w[i] * d * k;
        den += w[i] * k;
      }
      out[j] = s === 0 ? base[j] : base[j] + num / Math.max(den, 1e-6);
    }
  },

  absHistogram(x, hist, hi) {
    const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const n = u.length;
    if (hi < 0) {
      for (let j = 0; j < n; j++) hist[(u[j] & 0x7fffffff) >>> 16]++;
      return;
    }
    for (let j = 0; j < n; j++) {
      const a = u[j] & 0x7fffffff;
      if (a >>> 16 === hi) hist[a & 0xffff]++;
    }
  },

  trim(x, threshold) {
    const t = fr(threshold);
    for (let j = 0; j < x.length; j++) x[j] *= +(Math.abs(x[j]) >= t);
  },

  updateStats(base, models, out) {
    const n = base.length;
    const m = models.length;
    const nz = new Float64Array(m);
    let multi = 0;
    let agree = 0;
    for (let j = 0; j < n; j++) {
      const b = base[j];
      let c = 0;
      let p = 0;
      for (let i = 0; i < m; i++) {
        const v = models[i][j];
        const z = +(v !== b);
        nz[i] += z;
        c += z;
        p += +(v > b);
      }
      const both = +(c >= 2);
      multi += both;
      agree += both & (+(p === 0) | +(p === c));
    }
    out.set(nz);
    out[m] = multi;
    out[m + 1] = agree;
  },
};
