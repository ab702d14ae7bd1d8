/**
 * Numeric building blocks shared by the merge methods. Each is a small pure function over Float32Arrays; the
 * formula is in its comment. Inputs are never modified unless the name says "InPlace".
 */

import { ConfigError } from "@m2rl/core/errors";
import type {
  MergeGlobalStats,
  MergeParamDef,
  MergeParamValue,
  ResolvedMergeParams,
  TensorMergeInput,
} from "@m2rl/core/merge";
import { Rng } from "@m2rl/core/rng";
import { kernels } from "./kernels.ts";

export function num(p: Record<string, MergeParamValue>, name: string): number {
  const v = p[name];
  if (typeof v !== "number")
    throw new ConfigError(`parameter '${name}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function bool(p: Record<string, MergeParamValue>, name: string): boolean {
  const v = p[name];
  if (typeof v !== "boolean")
    throw new ConfigError(`parameter '${name}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function str(p: Record<string, MergeParamValue>, name: string): string {
  const v = p[name];
  if (typeof v !== "string")
    throw new ConfigError(`parameter '${name}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Per-model numbers of `name`, in model order. */
export function perModel(params: ResolvedMergeParams, name: string): number[] {
  return params.perModel.map((p) => num(p, name));
}

/** The base tensor, or a clear error when a method that needs one got none. */
export function requireBase(input: TensorMergeInput, method: string): Float32Array {
  if (!input.base) throw new ConfigError(`merge method '${method}' needs a base_model`, { path: input.name });
  return input.base;
}

const scratchPool: Float32Array[] = [];

/** Bytes of the scratch buffers this thread holds (the engine's memory accounting). */
export function scratchBytes(): number {
  let b = 0;
  for (const x of scratchPool) if (x) b += x.byteLength;
  return b;
}

/**
 * A reusable float32 buffer of length `n` for temporary slot `slot` (contents undefined). Fresh large arrays cost
 * page faults on first touch; merges reuse these instead. Valid until the next call with the same slot: only for
 * temporaries inside one synchronous mergeTensor call, never for its result.
 */
export function scratch(slot: number, n: number): Float32Array {
  let b = scratchPool[slot];
  if (!b || b.length < n) {
    b = new Float32Array(n);
    scratchPool[slot] = b;
  }
  return b.subarray(0, n);
}

/** The array a method writes its result into: the engine's reusable `input.out` when it has one, else a new one. */
export function resultArray(input: TensorMergeInput, n = input.models[0].length): Float32Array {
  return input.out && input.out.length === n ? input.out : new Float32Array(n);
}

/** tau_i = theta_i - base, one array per model (scratch buffers unless `fresh`). */
export function taskVectors(
  base: Float32Array,
  models: readonly Float32Array[],
  fresh = false,
): Float32Array[] {
  return models.map((m, i) => {
    const d = fresh ? new Float32Array(base.length) : scratch(i, base.length);
    kernels.subtract(d, m, base);
    return d;
  });
}

const hist = new Float64Array(65536);

/**
 * Threshold t such that keeping |x| >= t keeps the k largest magnitudes of `x` (ties at t are all kept), found by
 * a two-pass radix select over the float bit patterns (|x| as float32 bits is monotone in |x|). k <= 0 gives
 * +Infinity (keep nothing); k >= length gives 0 (keep everything).
 */
export function kthLargestAbs(x: Float32Array, k: number): number {
  const n = x.length;
  if (k <= 0) return Number.POSITIVE_INFINITY;
  if (k >= n) return 0;
  hist.fill(0);
  kernels.absHistogram(x, hist, -1);
  const cut = radixCut(hist, k);
  hist.fill(0);
  kernels.absHistogram(x, hist, cut.hi);
  return radixThreshold(hist, cut);
}

/**
 * First radix-select step: from the histogram of the high 16 bits of |x| (kernels.absHistogram with hi < 0), the
 * high half `hi` of the k-th largest magnitude and how many entries under it are still `need`ed.
 */
export function radixCut(histHi: Float64Array, k: number): { hi: number; need: number } {
  let cum = 0;
  let hi = 0x7fff;
  for (; hi >= 0; hi--) {
    if (cum + histHi[hi] >= k) break;
    cum += histHi[hi];
  }
  return { hi, need: k - cum };
}

/** Second step: from the histogram of the low halves under `hi`, the k-th largest magnitude itself. */
export function radixThreshold(histLo: Float64Array, cut: { hi: number; need: number }): number {
  let cum = 0;
  let lo = 0xffff;
  for (; lo >= 0; lo--) {
    cum += histLo[lo];
    if (cum >= cut.need) break;
  }
  return f32FromBits(((cut.hi << 16) | lo) >>> 0);
}

const f32s = new Float32Array(1);
const u32s = new Uint32Array(f32s.buffer);
function f32FromBits(b: number): number {
  u32s[0] = b;
  return f32s[0];
}

/** Threshold of the magnitude trim: keep |x| >= it (0 keeps everything when density >= 1). */
export function magnitudeThreshold(x: Float32Array, density: number): number {
  return density >= 1 ? 0 : kthLargestAbs(x, Math.round(density * x.length));
}

/** Magnitude trim (TIES): zero every entry below the k-th largest |x|, k = round(density * n). In place. */
export function magnitudeTrimInPlace(x: Float32Array, density: number, threshold?: number): void {
  if (density >= 1 && threshold === undefined) return;
  // a dropped negative entry becomes -0, which every consumer treats as 0
  kernels.trim(x, threshold ?? kthLargestAbs(x, Math.round(density * x.length)));
}

/**
 * Random drop (DARE): keep each entry with probability `density`, rescale survivors by 1/density when `rescale`.
 * The stream is the caller's Rng (derived from seed and tensor name). In place.
 */
export function bernoulliDropInPlace(x: Float32Array, density: number, rescale: boolean, rng: Rng): void {
  if (density >= 1) return;
  if (density <= 0) {
    x.fill(0);
    return;
  }
  const limit = density * 4294967296;
  const scale = rescale ? 1 / density : 1;
  for (let i = 0; i < x.length; i++) x[i] = rng.nextUint32() < limit ? x[i] * scale : 0;
}

/**
 * Elements per random block: DARE masks are drawn block by block, each block from its own stream derived from the
 * seed, the tensor name, the model index and the block index. A mask therefore does not depend on how the engine
 * splits a tensor into chunks (chunks start at multiples of this), nor on worker order.
 */
export const RANDOM_BLOCK = 1 << 16;

/**
 * DARE's random drop over a tensor or a chunk of one (`input.offset`, a multiple of RANDOM_BLOCK): keep each entry
 * with probability `density`, survivors rescaled by 1/density when `rescale`. In place.
 */
export function randomDropInPlace(
  x: Float32Array,
  density: number,
  rescale: boolean,
  input: TensorMergeInput,
  model: number,
): void {
  const offset = input.offset ?? 0;
  if (offset % RANDOM_BLOCK !== 0) {
    throw new RangeError(`${input.name}: chunk offset ${offset} is not a multiple of ${RANDOM_BLOCK}`);
  }
  for (let s = 0; s < x.length; s += RANDOM_BLOCK) {
    const block = (offset + s) / RANDOM_BLOCK;
    const rng = Rng.derive(input.seed, `${input.name}#${model}@${block}`);
    bernoulliDropInPlace(x.subarray(s, s + RANDOM_BLOCK), density, rescale, rng);
  }
}

/**
 * Model Breadcrumbs' two ranks (mergekit's rule: n_top = floor(gamma n), n_keep = floor(density n); when they do not
 * fit, fewer large entries are dropped): entries at or above the `top`-th largest |x| are outliers (none when
 * top <= 0), entries below the `keep`-th largest are dropped.
 */
export function outlierRanks(n: number, density: number, gamma: number): { top: number; keep: number } {
  const keep = Math.floor(density * n);
  let nTop = Math.floor(gamma * n);
  const nBot = n - keep - nTop;
  if (nBot < 0) nTop += nBot;
  return { top: nTop, keep: keep + Math.max(nTop, 0) };
}

/** Zeroes every entry outside loT <= |x| < hiT. In place. */
export function keepBetweenInPlace(x: Float32Array, loT: number, hiT: number): void {
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (!(a >= loT && a < hiT)) x[i] = 0;
  }
}

/**
 * Magnitude with outliers removed (Model Breadcrumbs): drop the `gamma` fraction of largest |x| and then the
 * smallest so that `density` of the entries remain (see outlierRanks). `thresholds` ([hiT, loT], from the
 * statistics of a tensor split into chunks) replaces the ranking. In place.
 */
export function magnitudeOutliersInPlace(
  x: Float32Array,
  density: number,
  gamma: number,
  thresholds?: readonly [number, number],
): void {
  if (density >= 1) return;
  if (thresholds) {
    keepBetweenInPlace(x, thresholds[1], thresholds[0]);
    return;
  }
  const { top, keep } = outlierRanks(x.length, density, gamma);
  const hiT = top > 0 ? kthLargestAbs(x, top) : Number.POSITIVE_INFINITY; // drop |x| >= hiT
  keepBetweenInPlace(x, kthLargestAbs(x, keep), hiT); // keep |x| >= loT
}

/**
 * Exact k-th largest |tau_i| thresholds over a tensor's chunks, a `tensorStats` protocol: the task vectors'
 * magnitudes go through the two radix-select passes of kthLargestAbs (histograms of the high, then of the low 16
 * bits under each cut), so the thresholds equal kthLargestAbs over the whole tensor (k <= 0: +Infinity; k >= n: 0).
 * `ranks(n, params of model i)` says which k each model needs; the result is one list of thresholds per model.
 */
export function radixSelectStats(
  ranks: (n: number, p: Record<string, MergeParamValue>) => number[],
  enabled: (params: ResolvedMergeParams) => boolean = () => true,
): MergeGlobalStats<RadixAcc, RadixCuts | number[][]> {
  return {
    enabled,
    passes: 2,
    create: (pass, _prev, m) => ({
      n: 0,
      perModel: [],
      hist: pass === 0 ? Array.from({ length: m }, () => [new Float64Array(32768)]) : [],
    }),
    accumulate(acc, input, pass, prev) {
      const deltas = taskVectors(requireBase(input, "radix select"), input.models);
      acc.n += deltas[0].length;
      acc.perModel = input.params.perModel;
      deltas.forEach((d, i) => {
        if (pass === 0) {
          kernels.absHistogram(d, acc.hist[i][0], -1);
          return;
        }
        const cuts = (prev as RadixCuts).cuts[i];
        acc.hist[i] ??= cuts.map((c) =>
          typeof c === "object" ? new Float64Array(65536) : new Float64Array(0),
        );
        cuts.forEach((c, q) => {
          if (typeof c === "object") kernels.absHistogram(d, acc.hist[i][q], c.hi);
        });
      });
    },
    combine(a, b) {
      a.n += b.n;
      if (b.perModel.length) a.perModel = b.perModel;
      b.hist.forEach((hs, i) => {
        if (!a.hist[i]) {
          a.hist[i] = hs;
          return;
        }
        hs.forEach((h, q) => {
          const t = a.hist[i][q];
          for (let j = 0; j < h.length; j++) t[j] += h[j];
        });
      });
      return a;
    },
    finish(acc, pass, prev) {
      if (pass === 0) {
        return {
          n: acc.n,
          cuts: acc.perModel.map((p, i) =>
            ranks(acc.n, p).map((k) => (k <= 0 ? "none" : k >= acc.n ? "all" : radixCut(acc.hist[i][0], k))),
          ),
        } satisfies RadixCuts;
      }
      return (prev as RadixCuts).cuts.map((cs, i) =>
        cs.map((c, q) =>
          c === "none" ? Number.POSITIVE_INFINITY : c === "all" ? 0 : radixThreshold(acc.hist[i][q], c),
        ),
      );
    },
  };
}

/** Accumulator of radixSelectStats: elements seen, the models' parameters, per model its histograms. */
export interface RadixAcc {
  n: number;
  perModel: Record<string, MergeParamValue>[];
  hist: Float64Array[][];
}
/** After the first pass: per model and rank, where the threshold lies (or that it keeps none / all). */
export interface RadixCuts {
  n: number;
  cuts: ({ hi: number; need: number } | "none" | "all")[][];
}

/**
 * DELLA MagPrune: within each row (last dimension), rank entries by |x| (1 = smallest); keep entry with
 * probability p = (density - epsilon) + 2 epsilon (rank - 1)/(cols - 1); survivors rescaled by 1/p (DELLA paper)
 * when `rescale`. In place. Each row draws from its own stream, derived from the merge seed, the tensor name, the
 * model index and the row's index in the whole tensor (`rowOffset`: the first row of `x`), so the mask does not
 * depend on how the engine splits a tensor into (row-aligned) chunks, nor on worker order.
 */
export function dellaMagpruneInPlace(
  x: Float32Array,
  shape: readonly number[],
  density: number,
  epsilon: number,
  rescale: boolean,
  stream: { seed: number; name: string; model: number; rowOffset: number },
  where: string,
): void {
  if (density >= 1) return;
  if (density <= 0) {
    x.fill(0);
    return;
  }
  if (density + epsilon >= 1 || density - epsilon <= 0) {
    throw new ConfigError(
      `epsilon ${epsilon} must keep density ± epsilon inside (0, 1) (density ${density})`,
      {
        path: where,
      },
    );
  }
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
  const rows = cols === 0 ? 0 : x.length / cols;
  const keys = new Float64Array(cols);
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const rng = Rng.derive(stream.seed, `${stream.name}#${stream.model}@row${stream.rowOffset + r}`);
    // key = |x| bits * 2^22 + column: sorting the keys sorts by magnitude, ties by column (stable like argsort)
    for (let c = 0; c < cols; c++) keys[c] = (bits[o + c] & 0x7fffffff) * 4194304 + c;
    keys.sort();
    for (let rank = 0; rank < cols; rank++) {
      const c = keys[rank] % 4194304;
      const rn = cols > 1 ? rank / (cols - 1) : 0;
      const p = density - epsilon + rn * 2 * epsilon;
      const keepIt = rng.next() < p;
      x[o + c] = keepIt ? (rescale ? x[o + c] / p : x[o + c]) : 0;
    }
  }
}

/**
 * Combines task vectors into `out[j] = base[j] + lambda * mixed[j]` (`out`: a fresh array unless given).
 * With consensus (TIES sign election, float32 arithmetic; see MergeKernels.consensus): per entry the majority sign
 * is the sign of the elected sum ("sum": sum of weighted deltas; "count": sum of their signs); only deltas with that
 * sign contribute; mixed = sum_i w_i d_i m_i / sum_i w_i m_i (normalize; a zero divisor counts as 1) or the
 * numerator alone. An elected sum of exactly 0 has no sign, so nothing contributes (the TIES paper and the NumPy
 * reference; mergekit would let the positive deltas through).
 * Without consensus: mixed = sum_i w_i d_i / sum_i w_i (normalize, |sum w| < 1e-8 counts as 1) or the plain sum.
 * `thresholds` (per model) trims |d_i| below them first; with consensus the trim is fused into the election.
 */
export function combineDeltas(
  base: Float32Array,
  deltas: readonly Float32Array[],
  weights: readonly number[],
  consensus: "sum" | "count" | null,
  normalize: boolean,
  lambda: number,
  thresholds?: readonly number[],
  out: Float32Array = new Float32Array(base.length),
): Float32Array {
  const w = Float64Array.from(weights);
  if (consensus === null) {
    if (thresholds) for (const [i, d] of deltas.entries()) kernels.trim(d, thresholds[i]);
    kernels.combine(out, base, deltas, w, lambda / normalizer(weights, normalize));
    return out;
  }
  const t = thresholds ? Float64Array.from(thresholds) : new Float64Array(deltas.length);
  kernels.consensus(out, base, deltas, w, t, consensus === "count", normalize, lambda);
  return out;
}

/** sum_i w_i when normalize (|sum| < 1e-8 counts as 1), else 1. */
function normalizer(weights: readonly number[], normalize: boolean): number {
  let wsum = 0;
  for (const w of weights) wsum += w;
  return normalize ? (Math.abs(wsum) < 1e-8 ? 1 : wsum) : 1;
}

/**
 * Task arithmetic without materialising task vectors: out = base + lambda * sum_i w_i (theta_i - base) / div, with
 * div = sum_i w_i when normalize (|sum| < 1e-8 counts as 1), else 1.
 */
export function taskArithmeticDirect(
  base: Float32Array,
  models: readonly Float32Array[],
  weights: readonly number[],
  normalize: boolean,
  lambda: number,
  out: Float32Array = new Float32Array(base.length),
): Float32Array {
  kernels.taskArithmetic(
    out,
    base,
    models,
    Float64Array.from(weights),
    lambda / normalizer(weights, normalize),
  );
  return out;
}

/**
 * Sums of products over blocks, the statistics of the angle-based methods (slerp, nuslerp, karcher, model_stock):
 * for vectors x_0..x_{k-1} (x_i = xs[i] - base in float64 when `base` is given, else xs[i]) and every pair a <= b
 * (pairIndex order), the sum of x_a[j] x_b[j] over each block of RANDOM_BLOCK elements, in float64, left to right.
 * Blocks are counted from the tensor's first element (`offset`, the chunk's start, is a multiple of RANDOM_BLOCK),
 * so a tensor merged in chunks and the same tensor merged whole have the same blocks; `foldBlocks` then adds them
 * in block order. Whole-tensor and chunked merges thereby get the very same sums, bitwise.
 */
export interface BlockSums {
  /** k(k+1)/2 sums per block. */
  pairs: number;
  /** [block index, its sums] for the blocks of the part of the tensor seen so far. */
  blocks: [number, Float64Array][];
}

/** Index of pair (a, b), a <= b < k, in a BlockSums row: row-major upper triangle. */
export function pairIndex(a: number, b: number, k: number): number {
  if (a > b) [a, b] = [b, a];
  return a * k - (a * (a - 1)) / 2 + (b - a);
}

/** An empty BlockSums for k vectors. */
export function emptyBlockSums(k: number): BlockSums {
  return { pairs: (k * (k + 1)) / 2, blocks: [] };
}

/** Adds the block sums of `xs` (a tensor, or its chunk starting at element `offset`) to `acc`. */
export function addBlockSums(
  acc: BlockSums,
  xs: readonly Float32Array[],
  base: Float32Array | undefined,
  offset: number,
): void {
  if (offset % RANDOM_BLOCK !== 0)
    throw new RangeError(`block sums: chunk offset ${offset} is not block-aligned`);
  const k = xs.length;
  const n = xs[0]?.length ?? 0;
  for (let s = 0; s < n; s += RANDOM_BLOCK) {
    const e = Math.min(n, s + RANDOM_BLOCK);
    const row = new Float64Array(acc.pairs);
    let p = 0;
    for (let a = 0; a < k; a++) {
      for (let b = a; b < k; b++) row[p++] = dotRange(xs[a], xs[b], base, s, e);
    }
    acc.blocks.push([(offset + s) / RANDOM_BLOCK, row]);
  }
}

/** sum_j x[j] y[j] over [s, e) in float64 (x, y minus base when given). */
function dotRange(
  x: Float32Array,
  y: Float32Array,
  base: Float32Array | undefined,
  s: number,
  e: number,
): number {
  let q = 0;
  if (base) {
    if (x === y) {
      for (let j = s; j < e; j++) {
        const d = x[j] - base[j];
        q += d * d;
      }
    } else {
      for (let j = s; j < e; j++) q += (x[j] - base[j]) * (y[j] - base[j]);
    }
  } else if (x === y) {
    for (let j = s; j < e; j++) q += x[j] * x[j];
  } else {
    for (let j = s; j < e; j++) q += x[j] * y[j];
  }
  return q;
}

/** Merges two accumulators (worker threads each fill one). */
export function combineBlockSums(a: BlockSums, b: BlockSums): BlockSums {
  if (b.blocks.length > 0) a.pairs = b.pairs;
  for (const x of b.blocks) a.blocks.push(x);
  return a;
}

/** The totals: the blocks' sums added in block order. */
export function foldBlocks(acc: BlockSums): number[] {
  const blocks = [...acc.blocks].sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(acc.pairs).fill(0);
  for (const [, row] of blocks) for (let p = 0; p < acc.pairs; p++) out[p] += row[p];
  return out;
}

/** The totals for a whole tensor (what a chunked merge's statistics give). */
export function blockTotals(xs: readonly Float32Array[], base: Float32Array | undefined): number[] {
  const acc = emptyBlockSums(xs.length);
  addBlockSums(acc, xs, base, 0);
  return foldBlocks(acc);
}

/**
 * A `tensorStats` protocol of one pass that gathers block sums (see addBlockSums) of the vectors `vectors(input)`
 * picks (with the base subtracted when `base(input)`); its result is the totals, in pairIndex order.
 */
export function blockSumStats(
  vectors: (input: TensorMergeInput) => readonly Float32Array[],
  base: (input: TensorMergeInput) => Float32Array | undefined,
  enabled: (params: ResolvedMergeParams) => boolean = () => true,
): MergeGlobalStats<BlockSums, number[]> {
  return {
    enabled,
    passes: 1,
    create: (_pass, _prev, modelCount) => emptyBlockSums(modelCount),
    accumulate(acc, input) {
      const xs = vectors(input);
      if (acc.pairs !== (xs.length * (xs.length + 1)) / 2) acc.pairs = (xs.length * (xs.length + 1)) / 2;
      addBlockSums(acc, xs, base(input), input.offset ?? 0);
    },
    combine: combineBlockSums,
    finish: (acc) => foldBlocks(acc),
  };
}

/** Layer index from a Hugging Face tensor name (`model.layers.12.mlp...` -> 12), or undefined. */
export function layerIndex(name: string): number | undefined {
  const m = /(?:^|\.)(?:layers|h|blocks|layer)\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Common parameter definitions (mergekit names). */
export const P = {
  weight: (): MergeParamDef => ({
    name: "weight",
    type: "number",
    default: 1,
    scope: "model",
    perTensor: true,
    description: "Weight of this model (mergekit requires it; M2RL defaults to 1).",
  }),
  density: (d = 1): MergeParamDef => ({
    name: "density",
    type: "number",
    default: d,
    scope: "model",
    perTensor: true,
    minimum: 0,
    maximum: 1,
    description: "Fraction of the task vector kept.",
  }),
  normalize: (d: boolean): MergeParamDef => ({
    name: "normalize",
    type: "boolean",
    default: d,
    scope: "global",
    perTensor: false,
    description: "Divide by the sum of the (agreeing) weights.",
  }),
  lambda: (): MergeParamDef => ({
    name: "lambda",
    type: "number",
    default: 1,
    scope: "global",
    perTensor: true,
    description: "Scale of the merged task vector.",
  }),
  rescale: (d: boolean): MergeParamDef => ({
    name: "rescale",
    type: "boolean",
    default: d,
    scope: "global",
    perTensor: false,
    description: "Rescale survivors of random dropping by 1/keep-probability.",
  }),
};

/** A per-tensor Rng for random masks: depends only on the merge seed and the tensor name. */
export function tensorRng(input: TensorMergeInput): Rng {
  return Rng.derive(input.seed, input.name);
}
