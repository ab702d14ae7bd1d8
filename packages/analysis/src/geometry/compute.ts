/**
 * Weight geometry of task vectors τ_a = θ_a − θ_base, streamed tensor by tensor and chunk by chunk: per arm pair,
 * the Gram matrix (norms and cosines; global, per layer, per module type), a seeded random projection, update
 * footprints (masks of the entries an arm updated — by default those whose bfloat16 value changed — with density,
 * Jaccard / overlap coefficient and sign conflicts), and the
 * principal angles between the per-matrix top-r left singular subspaces. Peak memory: a few chunks per arm plus
 * the thin matrices of one weight matrix's randomized SVD; never a whole tensor of a large model, never a model.
 */
import type { TensorSource } from "@m2rl/core";
import { f32BitsToBf16Bits } from "@m2rl/core/checkpoint";
import { ConfigError } from "@m2rl/core/errors";
import {
  bool,
  choice,
  defaultsOf,
  group,
  int,
  num,
  type OptionsInput,
  type OptionsOf,
  optional,
  orFalse,
  value,
  withDefaults,
} from "@m2rl/core/plugin";
import { Rng } from "@m2rl/core/rng";
import {
  type Dense,
  dense,
  orthonormalizeColumns,
  principalAngles,
  subspaceOverlap,
  svd,
} from "../math/linalg.ts";
import { MagnitudeHistogram } from "../math/magnitude-histogram.ts";
import { type ProjectionKind, StreamingProjector } from "../math/projection.ts";
import { type AlignedTensor, alignTensors } from "../tensors/align.ts";
import { layerIndex, type ModuleType, moduleType } from "../tensors/names.ts";

/** When a task-vector entry counts as "updated". */
export type FootprintThreshold =
  /**
   * bf16(w_arm) ≠ bf16(w_base), bf16 = the float32 rounded to its top 16 bits, nearest even (core's
   * f32BitsToBf16Bits; +0 and −0 count as equal). The default: RL checkpoints are bf16, where a step below half a
   * bf16 ulp leaves the weight bit-identical, so their footprints are sparse; a float32 run moves every weight, and
   * this reads its footprint at the resolution a bf16 checkpoint would have. On weights that are bf16 already it
   * is Δ ≠ 0.
   */
  | { kind: "bf16" }
  /** |Δ| > value · max(|w_arm|, |w_base|) (the paper's relative rule uses value 1e-3). */
  | { kind: "relative"; value: number }
  /** |Δ| > value. */
  | { kind: "absolute"; value: number }
  /** The `fraction` largest |Δ| of each arm over the whole model (streaming histogram; ≤ 0.8% magnitude bins). */
  | { kind: "top"; fraction: number }
  /** Δ ≠ 0 (bf16 RL updates leave most entries bit-identical). */
  | { kind: "nonzero" };

/** The JSON Schema of a `FootprintThreshold` (one of its five kinds). */
const FOOTPRINT_THRESHOLD_SCHEMA = {
  oneOf: [
    { type: "object", properties: { kind: { const: "bf16" } }, required: ["kind"] },
    {
      type: "object",
      properties: { kind: { const: "relative" }, value: { type: "number", exclusiveMinimum: 0 } },
      required: ["kind", "value"],
    },
    {
      type: "object",
      properties: { kind: { const: "absolute" }, value: { type: "number", minimum: 0 } },
      required: ["kind", "value"],
    },
    {
      type: "object",
      properties: { kind: { const: "top" }, fraction: { type: "number", exclusiveMinimum: 0, maximum: 1 } },
      required: ["kind", "fraction"],
    },
    { type: "object", properties: { kind: { const: "nonzero" } }, required: ["kind"] },
  ],
};

/** Update footprints (the `footprint` block of the options). */
const FOOTPRINT_OPTIONS = group("Update footprints: which entries each arm updated (false: skip them).", {
  threshold: value<FootprintThreshold>(
    FOOTPRINT_THRESHOLD_SCHEMA,
    "When an entry counts as updated: { kind: bf16 } (default: the bf16 value changed), { kind: relative, value }, " +
      "{ kind: absolute, value }, { kind: top, fraction } or { kind: nonzero }.",
    { kind: "bf16" },
  ),
});

/**
 * The weight-geometry options, declared once: the type (`GeometryOptions` as given, `ResolvedGeometryOptions` with
 * the defaults), the analysis's JSON Schema and the defaults `computeWeightGeometry` applies.
 */
export const GEOMETRY_OPTIONS = group("Options of the weight-geometry analysis.", {
  chunkElements: int("Elements read per arm at a time (default 2^20 = 1048576).", 1 << 20, 1),
  seed: optional(
    value<number>(
      { type: "integer" },
      "Seed of the random projection and the subspace sketches (default: the run's seed; 0 in a direct call).",
      0,
    ),
  ),
  perTensor: bool("Keep per-tensor statistics in the result (default true).", true),
  projection: orFalse(
    group("Seeded random projection of the task vectors (false: skip it).", {
      dims: int("Dimensions of the projection (default 256).", 256, 1),
      kind: choice(
        ["auto", "gaussian", "sparse"],
        "auto (default): gaussian when parameters × dims ≤ gaussianBudget, else sparse.",
        "auto",
      ),
      sparsity: int("Non-zeros per column of the sparse projection (default 4).", 4, 1),
      gaussianBudget: num(
        "Largest parameters × dims for the auto choice of a gaussian projection (default 1e8).",
        1e8,
        { minimum: 0 },
      ),
    }),
  ),
  footprint: orFalse(FOOTPRINT_OPTIONS),
  subspace: orFalse(
    group("Principal angles between the arms' low-rank update subspaces per matrix (false: skip them).", {
      rank: int("Rank of each update's subspace (default 8).", 8, 1),
      oversample: int("Extra columns of the randomized SVD (default 4).", 4),
      powerIterations: int("Power iterations of the randomized SVD (default 1).", 1),
      include: optional(
        value<string>(
          { type: "string" },
          "Only matrices whose name matches this regular expression (default: every 2-D tensor but embeddings and lm_head).",
          "",
        ),
      ),
      budgetElements: int(
        "Stop after this many matrix elements; the rest are listed as skipped (default 2^26 = 67108864).",
        1 << 26,
      ),
    }),
  ),
});

/** Weight-geometry options as given (every key optional), plus a logger. */
export type GeometryOptions = OptionsInput<typeof GEOMETRY_OPTIONS> & { log?: (message: string) => void };
/** Weight-geometry options with the defaults applied. */
export type ResolvedGeometryOptions = OptionsOf<typeof GEOMETRY_OPTIONS>;

/** Raw sums over a set of tensor entries, from which every statistic is derived. */
export interface GeometryAccumulator {
  numel: number;
  /** Σ τ_a τ_b, row-major A×A. */
  gram: number[];
  /** Entries with τ_a ≠ 0. */
  changed: number[];
  /** Entries in arm a's footprint. */
  inFootprint: number[];
  /** Entries in both footprints (A×A). */
  both: number[];
  /** Entries in both footprints with opposite signs (A×A). */
  conflicts: number[];
}

function newAcc(arms: number): GeometryAccumulator {
  return {
    numel: 0,
    gram: new Array(arms * arms).fill(0),
    changed: new Array(arms).fill(0),
    inFootprint: new Array(arms).fill(0),
    both: new Array(arms * arms).fill(0),
    conflicts: new Array(arms * arms).fill(0),
  };
}

function addAcc(into: GeometryAccumulator, x: GeometryAccumulator): void {
  into.numel += x.numel;
  for (let i = 0; i < into.gram.length; i++) {
    into.gram[i] += x.gram[i];
    into.both[i] += x.both[i];
    into.conflicts[i] += x.conflicts[i];
  }
  for (let i = 0; i < into.changed.length; i++) {
    into.changed[i] += x.changed[i];
    into.inFootprint[i] += x.inFootprint[i];
  }
}

export interface TensorGeometry {
  name: string;
  shape: number[];
  layer: number | null;
  module: ModuleType;
  acc: GeometryAccumulator;
}

export interface SubspaceTensorResult {
  name: string;
  module: ModuleType;
  layer: number | null;
  /** Fraction of ‖ΔW_a‖²_F captured by the top-r singular values, per arm. */
  energy: number[];
  /** Principal angles in degrees per arm pair (a < b), ascending. */
  angles: { a: number; b: number; degrees: number[]; overlap: number }[];
}

export interface WeightGeometry {
  arms: string[];
  base: string;
  parameters: number;
  global: GeometryAccumulator;
  byLayer: { layer: number; acc: GeometryAccumulator }[];
  byModule: { module: ModuleType; acc: GeometryAccumulator }[];
  tensors?: TensorGeometry[];
  projection?: { dims: number; kind: ProjectionKind; seed: number; vectors: number[][] };
  footprint?: { threshold: FootprintThreshold; topThresholds?: number[] };
  subspace?: {
    rank: number;
    tensors: SubspaceTensorResult[];
    skipped: string[];
  };
  skipped: { name: string; reason: string }[];
}

/** The footprint definition when the options name none: the bf16 value changed. */
export const DEFAULT_FOOTPRINT: FootprintThreshold = defaultsOf(FOOTPRINT_OPTIONS).threshold;

/** True when `x` and `y` round to different bfloat16 values (±0 equal). `x`, `y`: float32 bit patterns. */
export function bf16Differs(x: number, y: number): boolean {
  const bx = f32BitsToBf16Bits(x);
  const by = f32BitsToBf16Bits(y);
  return bx !== by && ((bx | by) & 0x7fff) !== 0;
}

const u32View = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** Computes the weight geometry of `arms` against `base`. */
export async function computeWeightGeometry(
  base: { name: string; weights: TensorSource },
  arms: readonly { name: string; weights: TensorSource }[],
  given: GeometryOptions = {},
): Promise<WeightGeometry> {
  const options = withDefaults(GEOMETRY_OPTIONS, given);
  const A = arms.length;
  if (A === 0) throw new ConfigError("weight geometry needs at least one arm besides the base");
  if (A > 31 && options.footprint !== false) {
    throw new ConfigError(
      `footprints support at most 31 arms at once (got ${A}); set footprint: false or split the arms`,
    );
  }
  const sources = arms.map((a) => a.weights);
  const { tensors, skipped } = alignTensors(base.weights, sources);
  const chunk = options.chunkElements;
  const seed = options.seed ?? 0; // the analysis passes the run's seed
  const log = given.log ?? (() => {});
  const parameters = tensors.reduce((s, t) => s + t.numel, 0);

  const threshold: FootprintThreshold | undefined =
    options.footprint === false ? undefined : options.footprint.threshold;

  // Pass 0 (top-p% footprints only): per-arm magnitude histograms give each arm's global threshold.
  let topThresholds: number[] | undefined;
  if (threshold?.kind === "top") {
    log(`geometry: magnitude histograms for the top ${(threshold.fraction * 100).toFixed(3)}% footprint`);
    const hists = arms.map(() => new MagnitudeHistogram());
    await forEachChunk(base.weights, sources, tensors, chunk, (_t, _o, _b, deltas) => {
      for (let a = 0; a < A; a++) hists[a].add(deltas[a]);
    });
    topThresholds = hists.map((h) => h.thresholdForTopFraction(threshold.fraction));
  }

  // Pass 1: Gram matrices, footprints, projection.
  let projector: StreamingProjector | undefined;
  let projectionKind: ProjectionKind | undefined;
  const proj = options.projection === false ? undefined : options.projection;
  if (proj) {
    const { dims, gaussianBudget: budget } = proj;
    projectionKind = proj.kind !== "auto" ? proj.kind : parameters * dims <= budget ? "gaussian" : "sparse";
    projector = new StreamingProjector(A, { dims, seed, kind: projectionKind, sparsity: proj.sparsity });
  }
  const perTensor: TensorGeometry[] = [];
  let current: TensorGeometry | undefined;
  log(`geometry: ${tensors.length} tensors, ${parameters} parameters, ${A} arms`);
  await forEachChunk(base.weights, sources, tensors, chunk, (t, offset, baseChunk, deltas, armChunks) => {
    if (offset === 0) {
      current = {
        name: t.name,
        shape: t.shape,
        layer: layerIndex(t.name),
        module: moduleType(t.name),
        acc: newAcc(A),
      };
      perTensor.push(current);
      projector?.beginTensor(t.name);
    }
    accumulateChunk(current!.acc, baseChunk, deltas, armChunks, threshold, topThresholds);
    projector?.add(offset, deltas);
  });

  const global = newAcc(A);
  const layers = new Map<number, GeometryAccumulator>();
  const modules = new Map<ModuleType, GeometryAccumulator>();
  for (const t of perTensor) {
    addAcc(global, t.acc);
    if (t.layer !== null) {
      if (!layers.has(t.layer)) layers.set(t.layer, newAcc(A));
      addAcc(layers.get(t.layer)!, t.acc);
    }
    if (!modules.has(t.module)) modules.set(t.module, newAcc(A));
    addAcc(modules.get(t.module)!, t.acc);
  }

  const result: WeightGeometry = {
    arms: arms.map((a) => a.name),
    base: base.name,
    parameters,
    global,
    byLayer: [...layers.entries()].sort((x, y) => x[0] - y[0]).map(([layer, acc]) => ({ layer, acc })),
    byModule: [...modules.entries()].map(([module, acc]) => ({ module, acc })),
    skipped,
  };
  if (options.perTensor !== false) result.tensors = perTensor;
  if (projector && projectionKind) {
    result.projection = {
      dims: projector.dims,
      kind: projectionKind,
      seed,
      vectors: projector.result().map((v) => Array.from(v)),
    };
  }
  if (threshold) result.footprint = { threshold, ...(topThresholds ? { topThresholds } : {}) };

  // Pass 2: low-rank subspaces of each selected matrix's update.
  if (options.subspace !== false && A >= 2) {
    const sub = options.subspace;
    const rank = sub.rank;
    const include = sub.include ? new RegExp(sub.include) : undefined;
    let budget = sub.budgetElements;
    const done: SubspaceTensorResult[] = [];
    const skippedSub: string[] = [];
    for (const t of tensors) {
      if (t.shape.length !== 2) continue;
      const mod = moduleType(t.name);
      const wanted = include ? include.test(t.name) : mod !== "embed" && mod !== "lm_head";
      if (!wanted) continue;
      if (Math.min(t.shape[0], t.shape[1]) < 2) continue;
      if (t.numel > budget) {
        skippedSub.push(t.name);
        continue;
      }
      budget -= t.numel;
      done.push(
        await subspaceOfTensor(base.weights, sources, t, {
          rank: Math.min(rank, t.shape[0], t.shape[1]),
          oversample: sub.oversample,
          powerIterations: sub.powerIterations,
          seed,
          chunk,
        }),
      );
    }
    if (skippedSub.length) log(`geometry: subspace budget reached, ${skippedSub.length} matrices skipped`);
    result.subspace = { rank, tensors: done, skipped: skippedSub };
  }
  return result;
}

type ChunkFn = (
  t: AlignedTensor,
  offset: number,
  base: Float32Array,
  deltas: Float32Array[],
  arms: Float32Array[],
) => void;

/** Reads every tensor in chunks from base and arms and hands over the deltas (buffers are reused per chunk). */
async function forEachChunk(
  base: TensorSource,
  arms: readonly TensorSource[],
  tensors: readonly AlignedTensor[],
  chunk: number,
  fn: ChunkFn,
): Promise<void> {
  const deltas = arms.map(() => new Float32Array(Math.min(chunk, maxNumel(tensors))));
  for (const t of tensors) {
    for (let start = 0; start < t.numel; start += chunk) {
      const count = Math.min(chunk, t.numel - start);
      const range = { start, count };
      const [b, ...as] = await Promise.all([
        base.readFloat32(t.name, range),
        ...arms.map((a) => a.readFloat32(t.name, range)),
      ]);
      const ds = deltas.map((d, i) => {
        const view = d.subarray(0, count);
        const x = as[i];
        for (let e = 0; e < count; e++) view[e] = x[e] - b[e];
        return view;
      });
      fn(t, start, b, ds, as);
    }
  }
}

function maxNumel(tensors: readonly AlignedTensor[]): number {
  let m = 1;
  for (const t of tensors) m = Math.max(m, t.numel);
  return m;
}

/** Adds one chunk to a tensor's accumulator. */
export function accumulateChunk(
  acc: GeometryAccumulator,
  base: Float32Array,
  deltas: Float32Array[],
  arms: Float32Array[],
  threshold: FootprintThreshold | undefined,
  topThresholds: number[] | undefined,
): void {
  const A = deltas.length;
  const n = base.length;
  acc.numel += n;
  // Gram matrix (float64 sums).
  for (let a = 0; a < A; a++) {
    const da = deltas[a];
    let changed = 0;
    for (let e = 0; e < n; e++) if (da[e] !== 0) changed++;
    acc.changed[a] += changed;
    for (let b = a; b < A; b++) {
      const db = deltas[b];
      let s = 0;
      for (let e = 0; e < n; e++) s += da[e] * db[e];
      acc.gram[a * A + b] += s;
      if (b !== a) acc.gram[b * A + a] += s;
    }
  }
  if (!threshold) return;
  // Footprint masks: bit a of mask[e] says entry e is in arm a's footprint.
  const mask = new Uint32Array(n);
  for (let a = 0; a < A; a++) {
    const da = deltas[a];
    const bit = 1 << a;
    let count = 0;
    if (threshold.kind === "bf16") {
      const wa = u32View(arms[a]);
      const wb = u32View(base);
      for (let e = 0; e < n; e++) {
        if (wa[e] !== wb[e] && bf16Differs(wa[e], wb[e])) {
          mask[e] |= bit;
          count++;
        }
      }
    } else if (threshold.kind === "relative") {
      const wa = arms[a];
      const r = threshold.value;
      for (let e = 0; e < n; e++) {
        const lim = r * Math.max(Math.abs(wa[e]), Math.abs(base[e]));
        if (Math.abs(da[e]) > lim) {
          mask[e] |= bit;
          count++;
        }
      }
    } else {
      const lim =
        threshold.kind === "absolute" ? threshold.value : threshold.kind === "top" ? topThresholds![a] : 0;
      const strict = threshold.kind !== "top";
      for (let e = 0; e < n; e++) {
        const m = Math.abs(da[e]);
        if (strict ? m > lim : m >= lim && m > 0) {
          mask[e] |= bit;
          count++;
        }
      }
    }
    acc.inFootprint[a] += count;
  }
  for (let a = 0; a < A; a++) {
    for (let b = a + 1; b < A; b++) {
      const both = (1 << a) | (1 << b);
      const da = deltas[a];
      const db = deltas[b];
      let nb = 0;
      let nc = 0;
      for (let e = 0; e < n; e++) {
        if ((mask[e] & both) === both) {
          nb++;
          if (da[e] > 0 !== db[e] > 0) nc++;
        }
      }
      acc.both[a * A + b] += nb;
      acc.both[b * A + a] += nb;
      acc.conflicts[a * A + b] += nc;
      acc.conflicts[b * A + a] += nc;
    }
  }
  for (let a = 0; a < A; a++) acc.both[a * A + a] = acc.inFootprint[a];
}

/**
 * Top-r left singular subspace of ΔW_a = W_a − W_base for every arm by a seeded randomized range finder
 * (Halko, Martinsson & Tropp 2011, with power iterations), streaming row blocks of the matrix: Y = ΔW Ω,
 * then q times (Z = orth(ΔWᵀ Q); Y = ΔW Z), Q = orth(Y), B = Qᵀ ΔW, U = Q · U_B[:, :r].
 */
async function subspaceOfTensor(
  base: TensorSource,
  arms: readonly TensorSource[],
  t: AlignedTensor,
  o: { rank: number; oversample: number; powerIterations: number; seed: number; chunk: number },
): Promise<SubspaceTensorResult> {
  const [m, n] = t.shape;
  const A = arms.length;
  const l = Math.min(o.rank + o.oversample, m, n);
  const rowsPerBlock = Math.max(1, Math.floor(o.chunk / n));
  const rng = Rng.derive(o.seed, `subspace:${t.name}`);
  const omega = dense(n, l);
  for (let i = 0; i < omega.data.length; i++) omega.data[i] = rng.normal();

  /** One streaming pass: calls fn(a, r0, rows, Δblock) for every arm and row block. */
  const pass = async (fn: (a: number, r0: number, rows: number, block: Float32Array) => void) => {
    for (let r0 = 0; r0 < m; r0 += rowsPerBlock) {
      const rows = Math.min(rowsPerBlock, m - r0);
      const range = { start: r0 * n, count: rows * n };
      const b = await base.readFloat32(t.name, range);
      for (let a = 0; a < A; a++) {
        const x = await arms[a].readFloat32(t.name, range);
        for (let e = 0; e < x.length; e++) x[e] -= b[e];
        fn(a, r0, rows, x);
      }
    }
  };
  // Y_a = ΔW_a · R  (R: n×l shared, or per arm)
  const timesRight = async (right: Dense[]) => {
    const ys = arms.map(() => dense(m, l));
    await pass((a, r0, rows, block) => {
      const y = ys[a].data;
      const R = right[a].data;
      for (let i = 0; i < rows; i++) {
        const yo = (r0 + i) * l;
        for (let j = 0; j < n; j++) {
          const x = block[i * n + j];
          if (x === 0) continue;
          const ro = j * l;
          for (let c = 0; c < l; c++) y[yo + c] += x * R[ro + c];
        }
      }
    });
    return ys;
  };
  // Z_a = ΔW_aᵀ · Q_a (n×l)
  const sumsq = new Float64Array(A);
  const transposeTimesLeft = async (left: Dense[], norms = false) => {
    const zs = arms.map(() => dense(n, l));
    await pass((a, r0, rows, block) => {
      if (norms) for (let e = 0; e < block.length; e++) sumsq[a] += block[e] * block[e];
      const z = zs[a].data;
      const Q = left[a].data;
      for (let i = 0; i < rows; i++) {
        const qo = (r0 + i) * l;
        for (let j = 0; j < n; j++) {
          const x = block[i * n + j];
          if (x === 0) continue;
          const zo = j * l;
          for (let c = 0; c < l; c++) z[zo + c] += x * Q[qo + c];
        }
      }
    });
    return zs;
  };

  let ys = await timesRight(arms.map(() => omega));
  for (let q = 0; q < o.powerIterations; q++) {
    for (const y of ys) orthonormalizeColumns(y);
    const zs = await transposeTimesLeft(ys);
    for (const z of zs) orthonormalizeColumns(z);
    ys = await timesRight(zs);
  }
  for (const y of ys) orthonormalizeColumns(y);
  const bts = await transposeTimesLeft(ys, true); // Bᵀ = ΔWᵀ Q, n×l
  const us: Dense[] = [];
  const energy: number[] = [];
  for (let a = 0; a < A; a++) {
    // ΔW ≈ Q B; B = U_B S V_Bᵀ, so Bᵀ = V_B S U_Bᵀ: U_B are Bᵀ's right singular vectors.
    const s = svd(bts[a], { right: true });
    const ub = s.right!;
    const r = o.rank;
    const u = dense(m, r);
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < r; c++) {
        let v = 0;
        for (let k = 0; k < l; k++) v += ys[a].data[i * l + k] * (ub.data[k * ub.cols + c] ?? 0);
        u.data[i * r + c] = v;
      }
    }
    // Drop directions with (numerically) zero singular value: a zero update has no subspace.
    const top = s.values[0] ?? 0;
    for (let c = 0; c < r; c++) {
      if (!((s.values[c] ?? 0) > 1e-7 * top) || top === 0) for (let i = 0; i < m; i++) u.data[i * r + c] = 0;
    }
    us.push(u);
    let captured = 0;
    for (let c = 0; c < Math.min(r, s.values.length); c++) captured += s.values[c] ** 2;
    energy.push(sumsq[a] > 0 ? Math.min(1, captured / sumsq[a]) : Number.NaN); // Σ_{i≤r} σ_i² / ‖ΔW‖²_F
  }
  const angles: SubspaceTensorResult["angles"] = [];
  for (let a = 0; a < A; a++) {
    for (let b = a + 1; b < A; b++) {
      const th = principalAngles(us[a], us[b]);
      angles.push({ a, b, degrees: th.map((x) => (x * 180) / Math.PI), overlap: subspaceOverlap(th) });
    }
  }
  return { name: t.name, module: moduleType(t.name), layer: layerIndex(t.name), energy, angles };
}
