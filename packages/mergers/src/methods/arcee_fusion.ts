import { ConfigError } from "@m2rl/core/errors";
import type { MergeGlobalStats, MergeMethod, TensorMergeInput } from "@m2rl/core/merge";
import { RANDOM_BLOCK, requireBase, resultArray } from "./common.ts";

/**
 * Arcee Fusion (mergekit `arcee_fusion`, mergekit/merge_methods/arcee_fusion.py, ArceeFusionMergeTask and
 * DynamicThresholdFusion): base and one model theta. Per row (last dimension),
 *
 *   p = softmax(theta) + 1e-8, q = softmax(base) + 1e-8, kl = sum_j p_j log(p_j / q_j)
 *   importance = |theta - base| * kl (of the entry's row)
 *   threshold  = median + 1.5 (q3 - q1) of all importances of the tensor
 *   out        = base + (theta - base) * [importance >= threshold]
 *
 * with mergekit's quantiles: the importances sorted ascending, the entry at floor(q (n - 1)), q = 0.25, 0.5, 0.75.
 * mergekit sorts a random sample of 10^6 entries when a tensor has more (unseeded `torch.randperm`: an estimate
 * that changes from run to run); M2RL takes the exact order statistics of all entries (the same values as
 * mergekit's for tensors of up to 10^6 entries), by a radix select over the float32 bit patterns of the
 * importances. Softmax and KL are computed in float64, the importances (and what follows) in float32 as mergekit.
 *
 * Chunks: the statistics are built from segments (a row cut at every RANDOM_BLOCK boundary), each reduced on its
 * own and folded per row in order, so a chunk (a run of whole blocks) sees the numbers of the whole tensor. Four
 * passes (`tensorStats`): softmax maxima and sums, KL per row, then two radix passes for the three quantiles.
 */

const f = Math.fround;
/** mergekit's `_compute_importance` eps, added to both softmaxes. */
const EPS = 1e-8;
/** The quantiles mergekit's DynamicThresholdFusion takes: q1, median, q3. */
const QUANTILES = [0.25, 0.5, 0.75] as const;

/** After pass 0: per row, max and sum of exp(x - max) of the model and of the base (softmax = exp(x - max) / sum). */
interface Softmax {
  maxA: Float64Array;
  sumA: Float64Array;
  maxB: Float64Array;
  sumB: Float64Array;
}
/** After pass 1: KL per row, as float32. */
interface Kl {
  kl: Float32Array;
}
/** After pass 2: for each quantile, the high 16 bits of its key and its rank among the entries under them. */
interface Cuts extends Kl {
  cuts: { hi: number; rank: number }[];
}
/** What every chunk needs (after pass 3). */
export interface ArceeFusionStats extends Kl {
  threshold: number;
}
type Prev = Softmax | Kl | Cuts | ArceeFusionStats;

interface Acc {
  /** Passes 0 and 1: per segment, in order, [row, values...] (stride 5 or 2). */
  parts: Float64Array[];
  /** Pass 2: histogram of the high 16 bits of the keys; pass 3: of the low 16 bits, one per quantile. */
  hist: Float64Array[];
  rows: number;
  n: number;
}

/** Columns per row: the last dimension (1 for a scalar). */
function rowLength(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1];
}
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Calls fn(row, start, end) for the segments of a tensor's elements [offset, offset + length) (start / end local):
 * the rows, cut at the multiples of RANDOM_BLOCK. Chunks start at such multiples, so a chunk is whole segments.
 */
function forSegments(
  offset: number,
  length: number,
  cols: number,
  fn: (row: number, start: number, end: number) => void,
): void {
  let j = 0;
  while (j < length) {
    const at = offset + j;
    const row = Math.floor(at / cols);
    const end = Math.min(
      (row + 1) * cols,
      (Math.floor(at / RANDOM_BLOCK) + 1) * RANDOM_BLOCK,
      offset + length,
    );
    fn(row, j, end - offset);
    j = end - offset;
  }
}

/** Maps float32 bits to a key whose unsigned order is the numeric order (negatives flipped). */
const keyOf = (bits: number) => (bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function valueOfKey(key: number): number {
  u32[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  return f32[0];
}

/** The importances of a chunk (float32, mergekit's |theta - base| * kl), and their bit patterns. */
function importances(input: TensorMergeInput, base: Float32Array, kl: Float32Array): Uint32Array {
  const a = input.models[0];
  const imp = new Float32Array(a.length);
  forSegments(input.offset ?? 0, a.length, rowLength(input.shape), (row, s, e) => {
    const k = kl[row];
    for (let j = s; j < e; j++) imp[j] = f(Math.abs(a[j] - base[j])) * k;
  });
  return new Uint32Array(imp.buffer);
}

function check(input: TensorMergeInput): Float32Array {
  const base = requireBase(input, "arcee_fusion");
  if (input.models.length !== 1) {
    throw new ConfigError("arcee_fusion merges exactly two models (base_model and one other)", {
      path: input.name,
    });
  }
  return base;
}

export const arceeFusionTensorStats: MergeGlobalStats<Acc, Prev> = {
  enabled: () => true,
  passes: 4,
  create: () => ({ parts: [], hist: [], rows: 0, n: 0 }),
  accumulate(acc, input, pass, prev) {
    const base = check(input);
    const a = input.models[0];
    const cols = rowLength(input.shape);
    acc.n = numel(input.shape);
    acc.rows = cols === 0 ? 0 : acc.n / cols;
    const offset = input.offset ?? 0;
    if (pass === 0) {
      const out: number[] = [];
      forSegments(offset, a.length, cols, (row, s, e) => {
        let ma = Number.NEGATIVE_INFINITY;
        let mb = Number.NEGATIVE_INFINITY;
        for (let j = s; j < e; j++) {
          if (a[j] > ma) ma = a[j];
          if (base[j] > mb) mb = base[j];
        }
        let sa = 0;
        let sb = 0;
        for (let j = s; j < e; j++) {
          sa += Math.exp(a[j] - ma);
          sb += Math.exp(base[j] - mb);
        }
        out.push(row, ma, sa, mb, sb);
      });
      acc.parts.push(Float64Array.from(out));
    } else if (pass === 1) {
      const sm = prev as Softmax;
      const out: number[] = [];
      forSegments(offset, a.length, cols, (row, s, e) => {
        const [ma, sa, mb, sb] = [sm.maxA[row], sm.sumA[row], sm.maxB[row], sm.sumB[row]];
        let kl = 0;
        for (let j = s; j < e; j++) {
          const p = Math.exp(a[j] - ma) / sa + EPS;
          const q = Math.exp(base[j] - mb) / sb + EPS;
          kl += p * Math.log(p / q);
        }
        out.push(row, kl);
      });
      acc.parts.push(Float64Array.from(out));
    } else {
      const keys = importances(input, base, (prev as Kl).kl);
      if (pass === 2) {
        if (!acc.hist.length) acc.hist.push(new Float64Array(65536));
        const h = acc.hist[0];
        for (let j = 0; j < keys.length; j++) h[keyOf(keys[j]) >>> 16]++;
      } else {
        const cuts = (prev as Cuts).cuts;
        if (!acc.hist.length) acc.hist = cuts.map(() => new Float64Array(65536));
        for (let j = 0; j < keys.length; j++) {
          const key = keyOf(keys[j]);
          const hi = key >>> 16;
          for (let k = 0; k < cuts.length; k++) if (hi === cuts[k].hi) acc.hist[k][key & 0xffff]++;
        }
      }
    }
  },
  combine(a, b) {
    a.parts.push(...b.parts);
    if (!a.hist.length) a.hist = b.hist;
    else if (b.hist.length) {
      for (let k = 0; k < a.hist.length; k++) {
        const h = a.hist[k];
        const o = b.hist[k];
        for (let j = 0; j < h.length; j++) h[j] += o[j];
      }
    }
    if (b.n) {
      a.n = b.n;
      a.rows = b.rows;
    }
    return a;
  },
  finish(acc, pass, prev) {
    if (pass === 0) {
      const sm: Softmax = {
        maxA: new Float64Array(acc.rows).fill(Number.NEGATIVE_INFINITY),
        sumA: new Float64Array(acc.rows),
        maxB: new Float64Array(acc.rows).fill(Number.NEGATIVE_INFINITY),
        sumB: new Float64Array(acc.rows),
      };
      // online softmax, folded segment by segment in order (the identity is (-Infinity, 0))
      const fold = (m: Float64Array, s: Float64Array, r: number, m2: number, s2: number) => {
        const M = Math.max(m[r], m2);
        s[r] = s[r] * Math.exp(m[r] - M) + s2 * Math.exp(m2 - M);
        m[r] = M;
      };
      for (const p of acc.parts) {
        for (let k = 0; k < p.length; k += 5) {
          fold(sm.maxA, sm.sumA, p[k], p[k + 1], p[k + 2]);
          fold(sm.maxB, sm.sumB, p[k], p[k + 3], p[k + 4]);
        }
      }
      return sm;
    }
    if (pass === 1) {
      const kl = new Float64Array(acc.rows);
      for (const p of acc.parts) for (let k = 0; k < p.length; k += 2) kl[p[k]] += p[k + 1];
      return { kl: Float32Array.from(kl) };
    }
    if (pass === 2) {
      const h = acc.hist[0] ?? new Float64Array(65536);
      const cuts = QUANTILES.map((q) => {
        const rank = Math.floor(q * (acc.n - 1));
        let cum = 0;
        let hi = 0;
        for (; hi < 65535; hi++) {
          if (cum + h[hi] > rank) break;
          cum += h[hi];
        }
        return { hi, rank: rank - cum };
      });
      return { kl: (prev as Kl).kl, cuts };
    }
    const { kl, cuts } = prev as Cuts;
    const [q1, median, q3] = cuts.map(({ hi, rank }, k) => {
      const h = acc.hist[k] ?? new Float64Array(65536);
      let cum = 0;
      let lo = 0;
      for (; lo < 65535; lo++) {
        if (cum + h[lo] > rank) break;
        cum += h[lo];
      }
      return valueOfKey(((hi << 16) | lo) >>> 0);
    });
    // mergekit, in float32: median + 1.5 * (q3 - q1)
    return { kl, threshold: f(median + f(1.5 * f(q3 - q1))) };
  },
};

/** The statistics of a whole tensor: the same passes, over it as one chunk. */
function statsOf(input: TensorMergeInput): ArceeFusionStats {
  const g = arceeFusionTensorStats;
  let prev: Prev | undefined;
  for (let pass = 0; pass < 4; pass++) {
    const acc = g.create(pass, prev, 1);
    g.accumulate(acc, input, pass, prev);
    prev = g.finish(acc, pass, prev);
  }
  return prev as ArceeFusionStats;
}

export const arceeFusion: MergeMethod = {
  name: "arcee_fusion",
  description:
    "Arcee Fusion: keep the model's changes whose importance |delta| * KL(row softmaxes) reaches median + 1.5 IQR",
  parameters: [],
  base: "required",
  minModels: 1,
  maxModels: 1,
  chunkable: true,
  tensorStats: arceeFusionTensorStats as MergeGlobalStats,
  mergeTensor(input) {
    const base = check(input);
    const a = input.models[0];
    const out = resultArray(input);
    if (a.length === 0) return out;
    const { kl, threshold } = (input.stats as ArceeFusionStats | undefined) ?? statsOf(input);
    forSegments(input.offset ?? 0, a.length, rowLength(input.shape), (row, s, e) => {
      const k = kl[row];
      for (let j = s; j < e; j++) {
        const delta = f(a[j] - base[j]);
        const mask = f(Math.abs(delta) * k) >= threshold ? 1 : 0;
        out[j] = base[j] + delta * mask;
      }
    });
    return out;
  },
};
