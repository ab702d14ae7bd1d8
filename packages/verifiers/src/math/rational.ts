/**
 * Exact rationals over BigInt for the fast numeric path (integers of any size, decimals, fractions, percentages,
 * scientific notation compare exactly before any floating point or symbolic work).
 */
export interface Rational {
  num: bigint;
  den: bigint; // > 0
}

const MAX_DIGITS = 4000;
const MAX_EXPONENT = 400;

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b) [a, b] = [b, a % b];
  return a;
}

export function rat(num: bigint, den: bigint = 1n): Rational | undefined {
  if (den === 0n) return undefined;
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export function ratEq(a: Rational, b: Rational): boolean {
  return a.num * b.den === b.num * a.den;
}

export function ratDiv(a: Rational, b: Rational): Rational | undefined {
  return rat(a.num * b.den, a.den * b.num);
}

export function ratMul(a: Rational, b: Rational): Rational | undefined {
  return rat(a.num * b.num, a.den * b.den);
}

export function ratAdd(a: Rational, b: Rational): Rational | undefined {
  return rat(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function isInteger(r: Rational): boolean {
  return r.den === 1n;
}

/** Float value; exact for |num|, den < 2^53, else nearest available (may be ±Infinity/NaN for giants). */
export function ratToNumber(r: Rational): number {
  const n = Number(r.num);
  const d = Number(r.den);
  if (Number.isFinite(n) && Number.isFinite(d)) return n / d;
  // Scale both down by the same power of ten.
  const shift = Math.max(r.num.toString().length, r.den.toString().length) - 300;
  const s = 10n ** BigInt(Math.max(shift, 0));
  return Number(r.num / s) / Number(r.den / s || 1n);
}

export function ratToString(r: Rational): string {
  return r.den === 1n ? r.num.toString() : `${r.num}/${r.den}`;
}

/** Parses a plain decimal / integer / sci-notation literal (no LaTeX): "12", "-0.5", "1,000", "1.5e3", ".5". */
export function parseDecimal(s: string): Rational | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) return undefined;
  const [, sign, intPart, fracPart = "", expPart] = m;
  if (intPart === "" && fracPart === "") return undefined;
  if (intPart.length + fracPart.length > MAX_DIGITS) return undefined;
  let num = BigInt((intPart || "0") + fracPart);
  let den = 10n ** BigInt(fracPart.length);
  if (expPart !== undefined) {
    const e = Number(expPart);
    if (Math.abs(e) > MAX_EXPONENT) return undefined;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  }
  return rat(sign === "-" ? -num : num, den);
}

/** Whether the literal was written with a decimal point or exponent (an approximate value). */
export function isDecimalLiteral(s: string): boolean {
  return /[.eE]/.test(s);
}
