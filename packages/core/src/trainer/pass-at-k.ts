/** Unbiased pass@k (Chen et al. 2021) from n samples with c correct. */

/** pass@k = 1 - C(n-c, k)/C(n, k) = 1 - Π_{i=n-c+1}^{n} (1 - k/i); 1 when n - c < k. */
export function passAtK(n: number, c: number, k: number): number {
  if (
    !Number.isInteger(n) ||
    !Number.isInteger(c) ||
    !Number.isInteger(k) ||
    n < 1 ||
    k < 1 ||
    c < 0 ||
    c > n
  ) {
    throw new RangeError(`passAtK needs integers n >= 1, 0 <= c <= n, k >= 1; got n=${n} c=${c} k=${k}`);
  }
  if (k > n) throw new RangeError(`passAtK: k=${k} is larger than the number of samples n=${n}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}
