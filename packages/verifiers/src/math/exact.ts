/**
 * Exact evaluation of constant expressions over BigInt rationals: the explicit grammar latex.ts emits with numbers,
 * `+ - * /`, integer powers, `factorial` and `combinations`. `1/2004!` and `1/2006!` both underflow to 0 in floating
 * point; here they are two different rationals. Anything else (roots, π, e, variables, functions) is not exact:
 * the caller falls back to floating point with its own guards.
 */
import { parseDecimal, type Rational, rat, ratAdd, ratDiv, ratMul } from "./rational.ts";

/** Bounds that keep one evaluation cheap: digits of any intermediate value, factorial / binomial arguments. */
const MAX_BITS = 200_000n;
const MAX_FACTORIAL = 5000;

class NotExact extends Error {}

function bits(x: bigint): bigint {
  return BigInt((x < 0n ? -x : x).toString(16).length * 4);
}

function checked(r: Rational | undefined): Rational {
  if (!r) throw new NotExact("division by zero");
  if (bits(r.num) + bits(r.den) > MAX_BITS) throw new NotExact("too large");
  return r;
}

function toInt(r: Rational): number {
  if (r.den !== 1n || r.num < 0n || r.num > BigInt(MAX_FACTORIAL)) throw new NotExact("argument");
  return Number(r.num);
}

function factorial(n: number): bigint {
  let f = 1n;
  for (let k = 2n; k <= BigInt(n); k++) f *= k;
  return f;
}

function power(b: Rational, e: Rational): Rational {
  if (e.den !== 1n) throw new NotExact("fractional power");
  let n = e.num < 0n ? -e.num : e.num;
  // Size of the result ~ n · bits(base): refuse before computing a giant.
  if (n * (bits(b.num) + bits(b.den)) > MAX_BITS) throw new NotExact("too large");
  let num = 1n;
  let den = 1n;
  let bn = b.num;
  let bd = b.den;
  while (n > 0n) {
    if (n & 1n) {
      num *= bn;
      den *= bd;
    }
    bn *= bn;
    bd *= bd;
    n >>= 1n;
  }
  return checked(e.num < 0n ? rat(den, num) : rat(num, den));
}

/** The exact value of a constant expression, or undefined when it is not a rational computable cheaply. */
export function evalExact(expr: string): Rational | undefined {
  const toks = expr.match(/\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|[-+*/^(),]/g);
  if (!toks || toks.join("") !== expr.replace(/\s+/g, "")) return undefined;
  let p = 0;
  const sum = (): Rational => {
    let v = product();
    while (toks[p] === "+" || toks[p] === "-") {
      const op = toks[p++];
      const r = product();
      v = checked(op === "+" ? ratAdd(v, r) : ratAdd(v, { num: -r.num, den: r.den }));
    }
    return v;
  };
  const product = (): Rational => {
    let v = unary();
    while (toks[p] === "*" || toks[p] === "/") {
      const op = toks[p++];
      const r = unary();
      v = checked(op === "*" ? ratMul(v, r) : ratDiv(v, r));
    }
    return v;
  };
  const unary = (): Rational => {
    if (toks[p] === "-") {
      p++;
      const v = unary();
      return { num: -v.num, den: v.den };
    }
    if (toks[p] === "+") {
      p++;
      return unary();
    }
    const base = primary();
    if (toks[p] === "^") {
      p++;
      return power(base, unary());
    }
    return base;
  };
  const primary = (): Rational => {
    const t = toks[p++];
    if (t === undefined) throw new NotExact("end");
    if (/^\d/.test(t)) {
      const v = parseDecimal(t);
      if (!v || t.includes(".")) throw new NotExact("decimal");
      return v;
    }
    if (t === "(") {
      const v = sum();
      if (toks[p++] !== ")") throw new NotExact("paren");
      return v;
    }
    if ((t === "factorial" || t === "combinations") && toks[p] === "(") {
      p++;
      const args = [sum()];
      while (toks[p] === ",") {
        p++;
        args.push(sum());
      }
      if (toks[p++] !== ")") throw new NotExact("paren");
      if (t === "factorial" && args.length === 1) return checked(rat(factorial(toInt(args[0]))));
      if (t === "combinations" && args.length === 2) {
        const n = toInt(args[0]);
        const k = toInt(args[1]);
        if (k > n) throw new NotExact("binom");
        return checked(rat(factorial(n), factorial(k) * factorial(n - k)));
      }
    }
    throw new NotExact(t);
  };
  try {
    const v = sum();
    return p === toks.length ? v : undefined;
  } catch {
    return undefined;
  }
}
