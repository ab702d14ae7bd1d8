/** Small statistics over plain arrays. Each function states its formula; tests compare with hand cases. */

/** Arithmetic mean; NaN for an empty array. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** q-quantile (0..1) with linear interpolation between order statistics (numpy's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** cos(a, b) = a·b / (|a||b|); NaN when either vector is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cosine: lengths differ (${a.length} vs ${b.length})`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : Number.NaN;
}

/** Pearson r = cov(x, y) / (sd(x) sd(y)); NaN with fewer than 2 points or a constant series. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`pearson: lengths differ (${x.length} vs ${y.length})`);
  const n = x.length;
  if (n < 2) return Number.NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** Ranks 1..n, ties get their average rank. */
export function ranks(x: readonly number[]): number[] {
  const idx = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k][1]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman rho = Pearson r of the ranks (ties averaged). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  return pearson(ranks(x), ranks(y));
}

/**
 * Area under the ROC curve of `scores` separating positives from negatives = P(score_pos > score_neg) + ½ P(tie)
 * (Mann–Whitney U / (n_pos n_neg)). NaN when either class is empty.
 */
export function auc(positives: readonly number[], negatives: readonly number[]): number {
  const np = positives.length;
  const nn = negatives.length;
  if (np === 0 || nn === 0) return Number.NaN;
  const all = [...positives, ...negatives];
  const r = ranks(all);
  let sumPos = 0;
  for (let i = 0; i < np; i++) sumPos += r[i];
  return (sumPos - (np * (np + 1)) / 2) / (np * nn);
}

/** Jaccard |A∩B| / |A∪B| of two sets given as counts; 1 when both are empty (identical empty sets). */
export function jaccardFromCounts(a: number, b: number, both: number): number {
  const union = a + b - both;
  return union > 0 ? both / union : 1;
}

/** Overlap (Szymkiewicz–Simpson) coefficient |A∩B| / min(|A|, |B|); 1 when one set is empty. */
export function overlapCoefficientFromCounts(a: number, b: number, both: number): number {
  const m = Math.min(a, b);
  return m > 0 ? both / m : 1;
}

/**
 * Expected Jaccard of two independent random masks of densities p and q over many elements:
 * E[J] ≈ pq / (p + q − pq) (intersection density pq, union density p + q − pq).
 */
export function randomJaccard(p: number, q: number): number {
  const u = p + q - p * q;
  return u > 0 ? (p * q) / u : 0;
}

/** Expected overlap coefficient of two independent random masks: pq / min(p, q) = max(p, q). */
export function randomOverlapCoefficient(p: number, q: number): number {
  return Math.min(p, q) > 0 ? Math.max(p, q) : 0;
}
