import type { MergeGlobalStats, MergeMethod } from "@m2rl/core/merge";
import { blockSumStats, blockTotals, num, pairIndex, resultArray } from "./common.ts";

/**
 * Karcher (Riemannian) mean on the sphere (mergekit): unit directions u_i = theta_i/|theta_i| with equal weights;
 * start from the normalised arithmetic mean, iterate u <- cos|T| u + sin|T| T/|T| with
 * T = sum_i a_i (acos<u,u_i> / sin acos<u,u_i>) (u_i - <u,u_i> u) until |T| < tol or max_iter; the result is
 * (sum_i a_i |theta_i|) u.
 *
 * Every iterate is a combination of the u_i (the start is, and each step adds combinations of u and the u_i), so
 * the iteration runs on its coefficients: u = sum_i c_i u_i, <u, u_i> = (G c)_i and |v|^2 = c' G c, with G the
 * Gram matrix of the unit directions. G needs one pass over the tensor (the models' pairwise dot products, float64
 * sums per block of RANDOM_BLOCK entries added in block order), after which the iteration is m-dimensional and the
 * result is out = sum_i (scale c_i / |theta_i|) theta_i element by element. A tensor the engine splits into
 * chunks (`tensorStats`: the same pass over its chunks) therefore merges to the same bytes as a whole one, at the
 * memory of a chunk, however many iterations run.
 */
export function karcherWeights(gram: readonly number[], m: number, maxIter: number, tol: number): number[] {
  const alphas = new Array<number>(m).fill(1 / m);
  const norms = Array.from({ length: m }, (_, i) => Math.sqrt(gram[pairIndex(i, i, m)]));
  const valid = norms.flatMap((x, i) => (x > tol ? [i] : []));
  const w = new Array<number>(m).fill(0);
  if (valid.length === 0) return w;
  const k = valid.length;
  const asum = valid.reduce((s, i) => s + alphas[i], 0);
  const a = valid.map((i) => alphas[i] / asum);
  // Gram matrix of the valid unit directions
  const U = valid.map((i) => valid.map((j) => gram[pairIndex(i, j, m)] / (norms[i] * norms[j])));
  const apply = (c: readonly number[]) => U.map((row) => row.reduce((s, x, j) => s + x * c[j], 0));
  const norm = (c: readonly number[]) => {
    const g = apply(c);
    return Math.sqrt(
      Math.max(
        0,
        c.reduce((s, x, i) => s + x * g[i], 0),
      ),
    );
  };
  let c = [...a];
  const nu = norm(c);
  if (nu < tol) c = valid.map((_, i) => (i === 0 ? 1 : 0));
  else c = c.map((x) => x / nu);
  for (let it = 0; it < maxIter; it++) {
    const dots = apply(c);
    const T = new Array<number>(k).fill(0);
    for (let q = 0; q < k; q++) {
      const dot = Math.min(1, Math.max(-1, dots[q]));
      const theta = Math.acos(dot);
      if (theta < tol) continue;
      const f = (a[q] * theta) / Math.sin(theta);
      // f (u_q - dot u)
      for (let i = 0; i < k; i++) T[i] -= f * dot * c[i];
      T[q] += f;
    }
    const nT = norm(T);
    if (nT < tol) break;
    const cs = Math.cos(nT);
    const sn = Math.sin(nT) / nT;
    c = c.map((x, i) => cs * x + sn * T[i]);
    const un = norm(c);
    if (un > tol) c = c.map((x) => x / un);
  }
  let scale = 0;
  for (let i = 0; i < m; i++) scale += alphas[i] * norms[i];
  valid.forEach((i, q) => {
    w[i] = (scale * c[q]) / norms[i];
  });
  return w;
}

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
  chunkable: true,
  // the models' Gram matrix: one pass, whatever max_iter
  tensorStats: blockSumStats(
    (input) => input.models,
    () => undefined,
    // one model is returned as it is
    (p) => p.perModel.length > 1,
  ) as MergeGlobalStats,
  mergeTensor(input) {
    const ms = input.models;
    const n = ms[0].length;
    const out = resultArray(input);
    if (ms.length === 1) {
      out.set(ms[0]);
      return out;
    }
    const gram = (input.stats as number[] | undefined) ?? blockTotals(ms, undefined);
    const w = karcherWeights(
      gram,
      ms.length,
      num(input.params.global, "max_iter"),
      num(input.params.global, "tol"),
    );
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < ms.length; i++) s += w[i] * ms[i][j];
      out[j] = s;
    }
    return out;
  },
};
