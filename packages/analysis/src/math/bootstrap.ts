/**
 * Bootstrap confidence intervals over eval tasks. The unit of resampling is the eval task: a task's score is the
 * mean reward of its samples (every sample of every seed), the tasks of a domain are drawn with replacement B
 * times (default 2000), and the 95% CI is the 2.5% and 97.5% percentiles of the B replicate statistics.
 * Comparisons between arms are paired: both arms are scored on the same drawn tasks (only tasks both have).
 * Averages over domains are stratified: each domain's tasks are drawn independently and every domain weighs the
 * same. Draws come from `Rng.derive(seed, label)` (a stratum: `label/name`), so a statistic's numbers depend only
 * on its inputs, seed and label, never on the order of calls: two statistics with the same label, stratum and
 * task count see the same drawn tasks.
 */
import type { EvalRow } from "@m2rl/core";
import { Rng } from "@m2rl/core/rng";

export const BOOTSTRAP_RESAMPLES = 2000;
export const BOOTSTRAP_LEVEL = 0.95;

export interface BootstrapOptions {
  /** B, the number of resamples (default 2000). */
  resamples?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
  /** Names the draw stream (default "bootstrap"); strata draw from `label/name`. */
  label?: string;
  /** Coverage of the percentile interval (default 0.95). */
  level?: number;
  /** Reuses drawn indices between statistics with the same seed, label, stratum, task count and B. */
  cache?: DrawCache;
}

/** A point estimate with its percentile bootstrap interval; n = tasks it is computed over. */
export interface BootstrapCi {
  value: number;
  lo: number;
  hi: number;
  n: number;
}

/** taskId → score of the task (mean reward over its samples). */
export type TaskScores = ReadonlyMap<string, number>;

/** arm → domain → taskId → mean reward over the task's rows (every sample of every seed). */
export type TaskScoreIndex = Map<string, Map<string, Map<string, number>>>;

/** score(arm, domain, task) = Σ rewards / number of rows of that arm, domain and task. */
export function taskScoreIndex(rows: readonly EvalRow[]): TaskScoreIndex {
  const sums = new Map<string, Map<string, Map<string, [number, number]>>>();
  for (const r of rows) {
    let byDomain = sums.get(r.arm);
    if (!byDomain) sums.set(r.arm, (byDomain = new Map()));
    let byTask = byDomain.get(r.domain);
    if (!byTask) byDomain.set(r.domain, (byTask = new Map()));
    const s = byTask.get(r.taskId);
    if (s) {
      s[0] += r.reward;
      s[1]++;
    } else byTask.set(r.taskId, [r.reward, 1]);
  }
  const out: TaskScoreIndex = new Map();
  for (const [arm, byDomain] of sums) {
    const d = new Map<string, Map<string, number>>();
    for (const [domain, byTask] of byDomain)
      d.set(domain, new Map([...byTask].map(([task, [sum, n]]) => [task, sum / n])));
    out.set(arm, d);
  }
  return out;
}

/** Per-task scores of one arm on one domain: taskId → mean reward over the task's rows. */
export function taskScores(rows: readonly EvalRow[], arm: string, domain: string): Map<string, number> {
  return (
    taskScoreIndex(rows.filter((r) => r.arm === arm && r.domain === domain))
      .get(arm)
      ?.get(domain) ?? new Map()
  );
}

/** d_t = x_t − y_t over the tasks both have (x_t alone without y), tasks sorted by id. */
export function pairedValues(x: TaskScores, y?: TaskScores): { tasks: string[]; values: Float64Array } {
  const tasks = [...x.keys()].filter((t) => !y || y.has(t)).sort();
  const values = new Float64Array(tasks.length);
  for (let i = 0; i < tasks.length; i++) values[i] = x.get(tasks[i])! - (y ? y.get(tasks[i])! : 0);
  return { tasks, values };
}

/**
 * Drawn task indices per (seed, stream, n, B), so that many statistics over the same tasks draw once; and the
 * replicate means of a task-score map over all its tasks, per map (by identity: a map must not change after it
 * was used with a cache) and stream, so that the Δs and averages built from the same arm × domain sum once.
 * A cache changes the speed, never the numbers.
 */
export class DrawCache {
  private readonly draws = new Map<string, Int32Array>();
  private readonly means = new WeakMap<TaskScores, Map<string, Float64Array>>();

  /** Memoised `compute()` for the replicate means of all of `scores`' tasks on a stream. */
  replicateMeans(scores: TaskScores, key: string, compute: () => Float64Array): Float64Array {
    let byKey = this.means.get(scores);
    if (!byKey) this.means.set(scores, (byKey = new Map()));
    let m = byKey.get(key);
    if (!m) byKey.set(key, (m = compute()));
    return m;
  }

  /** B × n indices in [0, n), replicate b at [b·n, (b + 1)·n), drawn from Rng.derive(seed, stream). */
  get(seed: number, stream: string, n: number, resamples: number): Int32Array {
    const key = `${seed}\u0000${stream}\u0000${n}\u0000${resamples}`;
    let d = this.draws.get(key);
    if (!d) {
      d = drawIndices(seed, stream, n, resamples);
      this.draws.set(key, d);
    }
    return d;
  }
}

function drawIndices(seed: number, stream: string, n: number, resamples: number): Int32Array {
  const rng = Rng.derive(seed, stream);
  const out = new Int32Array(n * resamples);
  if (n === 0) return out;
  // rng.int(n) inlined (same numbers): uniform 32-bit draws below the largest multiple of n, reduced mod n
  const limit = 4294967296 - (4294967296 % n);
  for (let i = 0; i < out.length; ) {
    const x = rng.nextUint32();
    if (x < limit) out[i++] = x % n;
  }
  return out;
}

/** The stream a stratum draws from: the label itself for an unnamed stratum, else `label/name`. */
function streamOf(label: string, name: string): string {
  return name === "" ? label : `${label}/${name}`;
}

function drawsFor(name: string, n: number, o: BootstrapOptions): Int32Array {
  const seed = o.seed ?? 0;
  const stream = streamOf(o.label ?? "bootstrap", name);
  const b = o.resamples ?? BOOTSTRAP_RESAMPLES;
  return o.cache ? o.cache.get(seed, stream, n, b) : drawIndices(seed, stream, n, b);
}

/**
 * Replicates of any statistic of stratified task draws: for b = 1..B, stratum s's tasks are drawn with replacement
 * (indices in [0, size_s)) and `statistic(draws)` gets one index array per stratum. Returns the B values.
 */
export function bootstrapReplicates(
  strata: readonly { name: string; size: number }[],
  statistic: (draws: readonly Int32Array[]) => number,
  options: BootstrapOptions = {},
): Float64Array {
  const b = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const all = strata.map((s) => drawsFor(s.name, s.size, options));
  const out = new Float64Array(b);
  for (let r = 0; r < b; r++)
    out[r] = statistic(all.map((d, s) => d.subarray(r * strata[s].size, (r + 1) * strata[s].size)));
  return out;
}

/** Replicate means: m_b = (1/n) Σ_i values[draw_b(i)], B of them (NaN for no values). */
export function bootstrapMeans(
  values: ArrayLike<number>,
  options: BootstrapOptions = {},
  name = "",
): Float64Array {
  const n = values.length;
  const b = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const out = new Float64Array(b);
  if (n === 0) return out.fill(Number.NaN);
  const draws = drawsFor(name, n, options);
  for (let r = 0, k = 0; r < b; r++) {
    let s = 0;
    for (let i = 0; i < n; i++, k++) s += values[draws[k]];
    out[r] = s / n;
  }
  return out;
}

/** q-quantile of sorted values, linear interpolation between order statistics: s[⌊p⌋] + (p − ⌊p⌋)(s[⌈p⌉] − s[⌊p⌋]), p = q(B − 1). */
function sortedQuantile(s: Float64Array, q: number): number {
  if (s.length === 0) return Number.NaN;
  const p = (s.length - 1) * q;
  const lo = Math.floor(p);
  const hi = Math.ceil(p);
  return s[lo] + (s[hi] - s[lo]) * (p - lo);
}

/** Percentile interval: the (1 − level)/2 and (1 + level)/2 quantiles of the replicates; NaN if any is NaN. */
export function percentileInterval(replicates: ArrayLike<number>, level = BOOTSTRAP_LEVEL): [number, number] {
  const s = Float64Array.from(replicates);
  for (const x of s) if (Number.isNaN(x)) return [Number.NaN, Number.NaN];
  s.sort();
  return [sortedQuantile(s, (1 - level) / 2), sortedQuantile(s, (1 + level) / 2)];
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length ? s / values.length : Number.NaN;
}

/**
 * Replicate means of `scores` over `tasks` (sorted ids it has) on the stream of stratum `name`; memoised in the
 * cache when `tasks` are all of its tasks.
 */
function replicateMeansOf(
  scores: TaskScores,
  tasks: readonly string[],
  options: BootstrapOptions,
  name: string,
): Float64Array {
  const compute = () =>
    bootstrapMeans(
      Float64Array.from(tasks, (t) => scores.get(t)!),
      options,
      name,
    );
  if (!options.cache || tasks.length !== scores.size) return compute();
  const key = `${options.seed ?? 0}\u0000${streamOf(options.label ?? "bootstrap", name)}\u0000${options.resamples ?? BOOTSTRAP_RESAMPLES}`;
  return options.cache.replicateMeans(scores, key, compute);
}

/** Replicates of mean_t (x_t − y_t) over the tasks both have, as mean_t x_t − mean_t y_t on the same draws (linear). */
function pairedReplicates(
  x: TaskScores,
  y: TaskScores | undefined,
  tasks: readonly string[],
  options: BootstrapOptions,
  name: string,
): Float64Array {
  const rx = replicateMeansOf(x, tasks, options, name);
  if (!y) return rx;
  const ry = replicateMeansOf(y, tasks, options, name);
  return rx.map((v, r) => v - ry[r]);
}

/**
 * Paired bootstrap over tasks: value = mean_t (x_t − y_t) over the tasks both have (mean_t x_t without y), CI =
 * percentile interval of the B replicate means of the drawn tasks. Same inputs, seed and label → same numbers.
 */
export function pairedBootstrap(x: TaskScores, y?: TaskScores, options: BootstrapOptions = {}): BootstrapCi {
  const { tasks, values } = pairedValues(x, y);
  if (tasks.length === 0) return { value: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };
  const [lo, hi] = percentileInterval(pairedReplicates(x, y, tasks, options, ""), options.level);
  return { value: mean(values), lo, hi, n: values.length };
}

/** One stratum (a domain) of a stratified statistic: x, optionally paired with y, and its weight (default 1). */
export interface Stratum {
  name: string;
  x: TaskScores;
  y?: TaskScores;
  weight?: number;
}

/**
 * Stratified paired bootstrap: value = Σ_s w_s mean_t (x_st − y_st) / Σ_s w_s (with w_s = 1, the mean over
 * domains of per-domain means), each stratum's tasks drawn independently in every replicate. Strata without a
 * common task are left out; n = tasks over the strata kept.
 */
export function stratifiedBootstrap(strata: readonly Stratum[], options: BootstrapOptions = {}): BootstrapCi {
  const b = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const kept = strata
    .map((s) => ({ s, ...pairedValues(s.x, s.y), w: s.weight ?? 1 }))
    .filter((k) => k.values.length > 0 && k.w > 0);
  if (kept.length === 0) return { value: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };
  const totalW = kept.reduce((a, k) => a + k.w, 0);
  const reps = new Float64Array(b);
  let value = 0;
  let n = 0;
  for (const k of kept) {
    const m = pairedReplicates(k.s.x, k.s.y, k.tasks, options, k.s.name);
    const w = k.w / totalW;
    for (let r = 0; r < b; r++) reps[r] += w * m[r];
    value += w * mean(k.values);
    n += k.values.length;
  }
  const [lo, hi] = percentileInterval(reps, options.level);
  return { value, lo, hi, n };
}

// ---------------------------------------------------------------------------------------------------------------
// Across seeds

/** Mean, sample SD and range of the finite values of a list. */
export interface Spread {
  n: number;
  mean: number;
  /** Sample SD √(Σ (v − mean)² / (n − 1)); NaN for n < 2. */
  sd: number;
  min: number;
  max: number;
}

/** mean = Σv/n, sd = √(Σ(v − mean)²/(n − 1)), min, max over the finite values (NaN when there are none). */
export function spread(values: readonly number[]): Spread {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { n, mean: Number.NaN, sd: Number.NaN, min: Number.NaN, max: Number.NaN };
  const m = mean(v);
  let ss = 0;
  for (const x of v) ss += (x - m) ** 2;
  return {
    n,
    mean: m,
    sd: n > 1 ? Math.sqrt(ss / (n - 1)) : Number.NaN,
    min: Math.min(...v),
    max: Math.max(...v),
  };
}

/** The experiment seeds the rows come from, ascending; rows without `seed` count as seed `null` (listed first). */
export function seedsOf(rows: readonly EvalRow[]): (number | null)[] {
  const s = new Set<number | null>();
  for (const r of rows) s.add(typeof r.seed === "number" ? r.seed : null);
  return [...s].sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
}

/** Rows grouped by experiment seed, in `seedsOf` order. */
export function rowsBySeed(rows: readonly EvalRow[]): Map<number | null, EvalRow[]> {
  const out = new Map<number | null, EvalRow[]>(seedsOf(rows).map((s) => [s, []]));
  for (const r of rows) out.get(typeof r.seed === "number" ? r.seed : null)!.push(r);
  return out;
}

/** A point estimate computed on each seed's rows alone, and its spread across seeds. */
export interface AcrossSeeds extends Spread {
  seeds: (number | null)[];
  /** One estimate per seed, in `seeds` order (NaN where a seed's rows cannot give it). */
  values: number[];
}

/** estimate(rows of seed s) for each seed s, and their spread (mean, sample SD, min, max). */
export function acrossSeeds(rows: readonly EvalRow[], estimate: (rows: EvalRow[]) => number): AcrossSeeds {
  const groups = rowsBySeed(rows);
  const values = [...groups.values()].map(estimate);
  return { seeds: [...groups.keys()], values, ...spread(values) };
}
