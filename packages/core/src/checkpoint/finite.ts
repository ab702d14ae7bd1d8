/** Non-finite values in weights: the scan every loader and merger runs before trusting a tensor. */

/** Index of the first NaN / ±Inf in `x`, or −1. `v − v` is 0 for every finite v and NaN otherwise; four per branch. */
export function firstNonFinite(x: Float32Array): number {
  const n = x.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    if (a - a + (b - b) + (c - c) + (d - d) !== 0) break;
  }
  for (; i < n; i++) {
    const v = x[i];
    if (v - v !== 0) return i;
  }
  return -1;
}
