/**
 * Group-relative advantages (GRPO) and the reward shaping terms that run before them (DAPO's soft overlong
 * punishment). Rewards are scalars per sample, so these are plain number functions.
 */

export interface GroupAdvantageOptions {
  /** Divide by the group std (GRPO). false = Dr. GRPO (mean-centring only). Default true. */
  normalizeStd: boolean;
  /** Added to the std before dividing. Default 1e-6 (the M2RL paper's value). */
  eps: number;
  /** "sample" = unbiased std (n-1, torch.std as in verl / TRL), "population" = n. Default "sample". */
  stdKind: "sample" | "population";
}

export const DEFAULT_GROUP_ADVANTAGE: GroupAdvantageOptions = {
  normalizeStd: true,
  eps: 1e-6,
  stdKind: "sample",
};

/** A_i = (r_i - mean(r_group)) / (std(r_group) + eps), or r_i - mean(r_group) when normalizeStd is false. */
export function groupAdvantages(
  rewards: readonly number[],
  groupSize: number,
  options: Partial<GroupAdvantageOptions> = {},
): number[] {
  const o = { ...DEFAULT_GROUP_ADVANTAGE, ...options };
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new RangeError(`groupSize must be >= 1, got ${groupSize}`);
  if (rewards.length % groupSize !== 0) {
    throw new RangeError(`rewards length ${rewards.length} is not a multiple of groupSize ${groupSize}`);
  }
  const out = new Array<number>(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let mean = 0;
    for (let i = 0; i < groupSize; i++) mean += rewards[g + i];
    mean /= groupSize;
    let ss = 0;
    for (let i = 0; i < groupSize; i++) ss += (rewards[g + i] - mean) ** 2;
    const denom = o.stdKind === "sample" ? groupSize - 1 : groupSize;
    const std = denom > 0 ? Math.sqrt(ss / denom) : 0;
    for (let i = 0; i < groupSize; i++) {
      const c = rewards[g + i] - mean;
      out[g + i] = o.normalizeStd ? c / (std + o.eps) : c;
    }
  }
  return out;
}

export interface OverlongPenaltyOptions {
  /** L_max: the maximum response length in tokens. */
  maxLength: number;
  /** L_cache: width of the soft punishment zone before L_max. */
  cacheLength: number;
  /** Multiplier of the penalty (DAPO uses 1). */
  factor: number;
}

/**
 * DAPO soft overlong punishment: 0 if L <= L_max - L_cache; ((L_max - L_cache) - L) / L_cache if
 * L_max - L_cache < L <= L_max; -1 if L > L_max (times `factor`). Added to the reward.
 */
export function overlongPenalty(length: number, o: OverlongPenaltyOptions): number {
  const start = o.maxLength - o.cacheLength;
  if (length <= start) return 0;
  if (length <= o.maxLength) return (o.factor * (start - length)) / o.cacheLength;
  return -o.factor;
}

/** Indices of the groups whose rewards are not all equal (dynamic sampling keeps these; DAPO). */
export function informativeGroups(rewards: readonly number[], groupSize: number, tol = 0): number[] {
  const keep: number[] = [];
  for (let g = 0; g * groupSize < rewards.length; g++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < groupSize; i++) {
      const r = rewards[g * groupSize + i];
      if (r < lo) lo = r;
      if (r > hi) hi = r;
    }
    if (hi - lo > tol) keep.push(g);
  }
  return keep;
}
