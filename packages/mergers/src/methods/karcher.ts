import type { MergeMethod } from "@m2rl/core/merge";
import { num } from "./common.ts";

/**
 * Karcher (Riemannian) mean on the sphere (mergekit): unit directions u_i = theta_i/|theta_i| with equal weights;
 * start from the normalised arithmetic mean, iterate u <- cos|T| u + sin|T| T/|T| with
 * T = sum_i a_i (acos<u,u_i> / sin acos<u,u_i>) (u_i - <u,u_i> u) until |T| < tol or max_iter; the result is
 * (sum_i a_i |theta_i|) u.
 */
export const karcher: MergeMethod = {
  name: "karcher",
  description: "Karcher mean of the models' directions on the sphere, scaled by the mean norm",
  parameters: [
    {
      name: "max_iter",
      type: "integer",
      default: 10,
      scope: "global",
      perTensor: false,
      minimum: 1,
      description: "Iterations of the Karcher mean.",
    },
    {
      name: "tol",
      type: "number",
      default: 1e-5,
      scope: "global",
      perTensor: false,
      description: "Tolerance.",
    },
  ],
  base: "none",
  minModels: 1,
  mergeTensor(input) {
    const ms = input.models;
    const n = ms[0].length;
    if (ms.length === 1) return Float32Array.from(ms[0]);
    const maxIter = num(input.params.global, "max_iter");
    const tol = num(input.params.global, "tol");
    const alphas = ms.map(() => 1 / ms.length);
    const norms = ms.map((m) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += m[j] * m[j];
      return Math.sqrt(s);
    });
    const valid = ms.map((_, i) => i).filter((i) => norms[i] > tol);
    if (valid.length === 0) return new Float32Array(n);
    const asum = valid.reduce((s, i) => s + alphas[i], 0);
    const a = valid.map((i) => alphas[i] / asum);
    const units = valid.map((i) => {
      const u = new Float64Array(n);
      for (let j = 0; j < n; j++) u[j] = ms[i][j] / norms[i];
      return u;
    });
    let u = new Float64Array(n);
    units.forEach((ui, k) => {
      for (let j = 0; j < n; j++) u[j] += a[k] * ui[j];
    });
    const norm = (v: Float64Array) => {
      let s = 0;
      for (let j = 0; j < v.length; j++) s += v[j] * v[j];
      return Math.sqrt(s);
    };
    const nu = norm(u);
    if (nu < tol) u = Float64Array.from(units[0]);
    else for (let j = 0; j < n; j++) u[j] /= nu;
    const T = new Float64Array(n);
    for (let it = 0; it < maxIter; it++) {
      T.fill(0);
      units.forEach((ui, k) => {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += u[j] * ui[j];
        dot = Math.min(1, Math.max(-1, dot));
        const theta = Math.acos(dot);
        if (theta < tol) return;
        const f = (a[k] * theta) / Math.sin(theta);
        for (let j = 0; j < n; j++) T[j] += f * (ui[j] - dot * u[j]);
      });
      const nT = norm(T);
      if (nT < tol) break;
      const c = Math.cos(nT);
      const s = Math.sin(nT) / nT;
      for (let j = 0; j < n; j++) u[j] = c * u[j] + s * T[j];
      const un = norm(u);
      if (un > tol) for (let j = 0; j < n; j++) u[j] /= un;
    }
    let scale = 0;
    ms.forEach((_, i) => {
      scale += alphas[i] * norms[i];
    });
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) out[j] = scale * u[j];
    return out;
  },
};
