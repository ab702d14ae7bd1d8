/** Exact rational numbers over BigInt, so that `(1/3)*3` is exactly 1 and no float rounding decides a reward. */
export interface Rational {
  /** Numerator (carries the sign). */
  n: bigint;
  /** Denominator, always > 0. */
  d: bigint;
}

const abs = (x: bigint) => (x < 0n ? -x : x);

function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** n/d in lowest terms with a positive denominator. Throws RangeError on d = 0. */
export function rational(n: bigint, d = 1n): Rational {
  if (d === 0n) throw new RangeError("division by zero");
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}

export const add = (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Rational, b: Rational) => rational(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d);
export const div = (a: Rational, b: Rational) => rational(a.n * b.d, a.d * b.n);
export const equalsInt = (a: Rational, k: number) => a.d === 1n && a.n === BigInt(k);
export const show = (a: Rational) => (a.d === 1n ? `${a.n}` : `${a.n}/${a.d}`);
