import { ConfigError } from "@m2rl/core/errors";
import type { MergeGlobalStats, MergeMethod, ResolvedMergeParams, TensorMergeInput } from "@m2rl/core/merge";
import {
  addBlockSums,
  bool,
  combineBlockSums,
  emptyBlockSums,
  foldBlocks,
  pairIndex,
  perModel,
  resultArray,
} from "./common.ts";

/**
 * NuSLERP (mergekit): t = w_1 / (w_0 + w_1) (0.5 when the sum is ~0); with a base, base + slerp(t, tau_0, tau_1),
 * else slerp(t, theta_0, theta_1). slerp(t, v0, v1) = (sin((1-t) theta) v0 + sin(t theta) v1) / sin theta with
 * theta the angle between v0 and v1 (lerp when sin theta < 1e-8). nuslerp_flatten: one angle per tensor; else one
 * per row (last dimension), or per column with nuslerp_row_wise.
 *
 * Chunked merges (the engine splits large tensors): flattened, the norms and the dot product are float64 sums per
 * block of RANDOM_BLOCK entries added in block order, the same in a whole merge, so the bytes are equal; per row,
 * the engine cuts chunks between rows (`rowAligned`) and each row is computed as in a whole merge; per column
 * (nuslerp_row_wise), `tensorStats` sums each column's norms and dot product chunk by chunk: a chunk's partial
 * sums are added to the previous ones, a different order than one pass down the column, so those results agree
 * with a whole merge within float64 rounding of the sums (float32 output: almost always bitwise, at most 1 ulp).
 */
const flat = (p: ResolvedMergeParams, shape: readonly number[]) =>
  bool(p.global, "nuslerp_flatten") || shape.length < 2;
const columns = (p: ResolvedMergeParams, shape: readonly number[]) =>
  !flat(p, shape) && bool(p.global, "nuslerp_row_wise");

/** The two vectors' element j: the models minus the base when there is one. */
function vecs(input: TensorMergeInput): [(j: number) => number, (j: number) => number] {
  const [m0, m1] = input.models;
  const base = input.base;
  return base ? [(j) => m0[j] - base[j], (j) => m1[j] - base[j]] : [(j) => m0[j], (j) => m1[j]];
}

/** Slerp coefficients [a, b] from |v0|^2, |v1|^2 and <v0, v1>. */
function coefficients(t: number, n0: number, n1: number, dot: number): [number, number] {
  const cos = dot / (Math.max(Math.sqrt(n0), 1e-7) * Math.max(Math.sqrt(n1), 1e-7));
  const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
  const sin = Math.sin(theta);
  if (Math.abs(sin) < 1e-8) return [1 - t, t];
  return [Math.sin((1 - t) * theta) / sin, Math.sin(t * theta) / sin];
}

/** Per column c, at 3c..3c+2: |v0|^2, |v1|^2 and <v0, v1> over the rows of a chunk, summed down in row order. */
function columnSums(input: TensorMergeInput): Float64Array {
  const cols = input.shape[input.shape.length - 1];
  const [v0, v1] = vecs(input);
  const n = input.models[0].length;
  const start = (input.offset ?? 0) % cols;
  const out = new Float64Array(3 * cols);
  for (let j = 0, c = start; j < n; j++) {
    const a = v0(j);
    const b = v1(j);
    out[3 * c] += a * a;
    out[3 * c + 1] += b * b;
    out[3 * c + 2] += a * b;
    if (++c === cols) c = 0;
  }
  return out;
}

/** Flattened: block sums of v0, v1; per column: each chunk's column sums. Per row: nothing (rows are whole). */
const nuslerpStats: MergeGlobalStats<
  // per column: [chunk offset, its column sums] for each chunk seen, added in chunk order at the end
  { flat?: ReturnType<typeof emptyBlockSums>; cols?: [number, Float64Array][] },
  number[] | Float64Array
> = {
  enabled: (p, shape = []) => flat(p, shape) || columns(p, shape),
  passes: 1,
  create: () => ({}),
  accumulate(acc, input) {
    if (flat(input.params, input.shape)) {
      acc.flat ??= emptyBlockSums(2);
      addBlockSums(acc.flat, input.models, input.base, input.offset ?? 0);
    } else if (columns(input.params, input.shape)) {
      acc.cols ??= [];
      acc.cols.push([input.offset ?? 0, columnSums(input)]);
    }
  },
  combine(a, b) {
    if (b.flat) a.flat = a.flat ? combineBlockSums(a.flat, b.flat) : b.flat;
    if (b.cols) a.cols = [...(a.cols ?? []), ...b.cols];
    return a;
  },
  finish(acc) {
    if (acc.flat) return foldBlocks(acc.flat);
    const parts = [...(acc.cols ?? [])].sort((x, y) => x[0] - y[0]);
    const total = new Float64Array(parts[0]?.[1].length ?? 0);
    for (const [, p] of parts) for (let i = 0; i < total.length; i++) total[i] += p[i];
    return total;
  },
};

export const nuslerp: MergeMethod = {
  name: "nuslerp",
  description: "NuSLERP: slerp of two models (or of their task vectors around a base) with weights",
  parameters: [
    {
      name: "weight",
      type: "number",
      default: 1,
      scope: "model",
      perTensor: true,
      description: "Relative weight; t = w_1 / (w_0 + w_1).",
    },
    {
      name: "nuslerp_flatten",
      type: "boolean",
      default: true,
      scope: "global",
      perTensor: false,
      description: "One angle for the whole tensor.",
    },
    {
      name: "nuslerp_row_wise",
      type: "boolean",
      default: false,
      scope: "global",
      perTensor: false,
      description: "Without flatten: interpolate columns (dimension 0) instead of rows.",
    },
  ],
  base: "optional",
  minModels: 2,
  maxModels: 2,
  chunkable: true,
  // one angle per row: chunks of whole rows
  rowAligned: (p, shape) => !flat(p, shape) && !columns(p, shape),
  tensorStats: nuslerpStats as MergeGlobalStats,
  mergeTensor(input) {
    if (input.models.length !== 2)
      throw new ConfigError("nuslerp merges exactly two models (plus optional base)");
    const [w0, w1] = perModel(input.params, "weight");
    const t = Math.abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
    const [v0, v1] = vecs(input);
    const base = input.base;
    const n = input.models[0].length;
    const out = resultArray(input);
    const at = (j: number, a: number, b: number) => {
      out[j] = (base ? base[j] : 0) + a * v0(j) + b * v1(j);
    };
    const shape = input.shape;
    if (flat(input.params, shape)) {
      const sums =
        (input.stats as number[] | undefined) ??
        (() => {
          const acc = emptyBlockSums(2);
          addBlockSums(acc, input.models, base, input.offset ?? 0);
          return foldBlocks(acc);
        })();
      const [a, b] = coefficients(
        t,
        sums[pairIndex(0, 0, 2)],
        sums[pairIndex(1, 1, 2)],
        sums[pairIndex(0, 1, 2)],
      );
      for (let j = 0; j < n; j++) at(j, a, b);
      return out;
    }
    const cols = shape[shape.length - 1];
    if (columns(input.params, shape)) {
      // one angle per column, from sums down the whole column (statistics of a split tensor)
      const sums = (input.stats as Float64Array | undefined) ?? columnSums(input);
      const coef: [number, number][] = [];
      for (let c = 0; c < cols; c++)
        coef.push(coefficients(t, sums[3 * c], sums[3 * c + 1], sums[3 * c + 2]));
      for (let j = 0, c = (input.offset ?? 0) % cols; j < n; j++) {
        at(j, coef[c][0], coef[c][1]);
        if (++c === cols) c = 0;
      }
      return out;
    }
    // one angle per row; rows are whole in a chunk
    for (let o = 0; o < n; o += cols) {
      let n0 = 0;
      let n1 = 0;
      let dot = 0;
      for (let j = o; j < o + cols; j++) {
        const a = v0(j);
        const b = v1(j);
        n0 += a * a;
        n1 += b * b;
        dot += a * b;
      }
      const [a, b] = coefficients(t, n0, n1, dot);
      for (let j = o; j < o + cols; j++) at(j, a, b);
    }
    return out;
  },
};
