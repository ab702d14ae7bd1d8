/**
 * Equivalence of two parsed answers. Order of checks: structure (sequences, matrices, equations), then the exact
 * rational fast path, then numeric evaluation (constants) or evaluation at seeded random points (expressions with
 * variables), and `simplify(a - b) == 0` from mathjs only when point evaluation is inconclusive.
 */
import { Rng } from "@m2rl/core";
import { simplify } from "mathjs";
import { compileExpr } from "./evaluate.ts";
import { evalExact } from "./exact.ts";
import type { MathValue } from "./parse.ts";
import { type Rational, rat, ratEq, ratToNumber } from "./rational.ts";
import { MATH_DEFAULTS } from "./schema.ts";

export interface EquivOptions {
  /** Relative tolerance for approximate numbers (decimals, evaluated expressions). Math-Verify rounds to 6 digits. */
  tolerance: number;
  /** Accept `50%` for `0.5` (and `0.5` for `50%`). `50%` always matches `50`. */
  percentAsFraction: boolean;
  /** Accept `3` for `x = 3` (and the reverse) when one side of the equation is a lone variable. */
  equationRhs: boolean;
  /** Bare comma lists ("1, 2") compare as sets (unordered). */
  unorderedLists: boolean;
}

/** The math domain's defaults (declared with its options in schema.ts). */
export const DEFAULT_EQUIV: EquivOptions = {
  tolerance: MATH_DEFAULTS.tolerance,
  percentAsFraction: MATH_DEFAULTS.percentAsFraction,
  equationRhs: MATH_DEFAULTS.equationRhs,
  unorderedLists: MATH_DEFAULTS.unorderedLists,
};

const N_POINTS = 6;
const POINTS: number[][] = (() => {
  const r = new Rng(20260225);
  const out: number[][] = [];
  for (let k = 0; k < N_POINTS; k++) {
    const row: number[] = [];
    for (let v = 0; v < 16; v++) row.push(0.3 + 2.4 * r.next());
    out.push(row);
  }
  return out;
})();

/**
 * Relative closeness. There is no absolute slack except for float noise around zero (|a|, |b| < 1e-14): `1e-7` is
 * not `2e-7`, and values that underflow or overflow are compared exactly before this (exact.ts).
 */
export function close(a: number, b: number, tol: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const m = Math.max(Math.abs(a), Math.abs(b));
  return m < 1e-14 || Math.abs(a - b) <= tol * m;
}

type NumberValue = Extract<MathValue, { kind: "number" }>;

/** Whether a rational has no finite decimal expansion (its reduced denominator has a prime factor other than 2, 5). */
function nonTerminating(r: Rational): boolean {
  let d = r.den;
  while (d % 2n === 0n) d /= 2n;
  while (d % 5n === 0n) d /= 5n;
  return d !== 1n;
}

/**
 * Half a unit in the last written digit of a gold decimal, when the gold's precision may widen the comparison:
 * a decimal literal with at least two significant digits (`0.333`, `1.41`, `2.50`). A one-digit decimal (`0.5`) is
 * read as exact, since such golds are usually exact values.
 */
function goldHalfUnit(g: MathValue): Rational | undefined {
  if (g.kind !== "number" || !g.approx || g.percent || !g.unit || (g.sig ?? 0) < 2) return undefined;
  return rat(g.unit.num, g.unit.den * 2n);
}

function ratAbsDiff(a: Rational, b: Rational): Rational {
  const d = rat(a.num * b.den - b.num * a.den, a.den * b.den)!;
  return d.num < 0n ? { num: -d.num, den: d.den } : d;
}

function ratLe(a: Rational, b: Rational): boolean {
  return a.num * b.den <= b.num * a.den;
}

/**
 * The tolerance rule for two numbers whose exact values are both known (decimal literals are exact rationals of
 * what was written). Exact values compare exactly. A decimal is an approximation only to its written precision:
 * - gold decimal (≥ 2 significant digits) against a prediction that cannot be written exactly at any precision
 *   (`\frac{1}{3}`), or against a decimal written at least as finely: equal within half a unit of the gold's last
 *   digit (`0.333` ≡ `\frac{1}{3}`, `3.14` ≡ `3.1416`; `0.333` ≢ `0.3`);
 * - decimal prediction against an exact gold with no finite decimal expansion: the relative `tolerance` (its own
 *   written precision never widens it: `\frac{1}{3}` ≢ `0.333`, ≡ `0.3333333`);
 * - anything else (an exact side with a finite expansion, a coarser prediction): exactly (`1` ≢ `1.000001`).
 */
function ratNumEq(g: Rational, gv: MathValue, p: Rational, pv: MathValue, o: EquivOptions): boolean {
  if (ratEq(g, p)) return true;
  const gDec = gv.kind === "number" && gv.approx;
  const pDec = pv.kind === "number" && pv.approx;
  const half = goldHalfUnit(gv);
  if (half) {
    const finer =
      pv.kind === "number" && pv.unit && gv.kind === "number" && gv.unit && ratLe(pv.unit, gv.unit);
    if ((!pDec && nonTerminating(p)) || finer) return ratLe(ratAbsDiff(g, p), half);
  }
  if (gDec && !pDec && nonTerminating(p)) return close(ratToNumber(g), ratToNumber(p), o.tolerance);
  if (pDec && !gDec && nonTerminating(g)) return close(ratToNumber(g), ratToNumber(p), o.tolerance);
  return false;
}

function numEq(a: NumberValue, b: NumberValue, o: EquivOptions): boolean {
  if (!a.percent && !b.percent) return ratNumEq(a.value, a, b.value, b, o);
  const same = (x: Rational, y: Rational) =>
    ratEq(x, y) || close(ratToNumber(x), ratToNumber(y), o.tolerance);
  if (a.percent && b.percent) return ratEq(a.value, b.value);
  // `50%` always matches `50`; with percentAsFraction it also matches `0.5`.
  if (ratEq(a.value, b.value)) return true;
  if (!o.percentAsFraction) return false;
  const hundred = rat(100n)!;
  if (a.percent) return same(rat(a.value.num, a.value.den * hundred.num)!, b.value);
  return same(a.value, rat(b.value.num, b.value.den * hundred.num)!);
}

interface Complexish {
  re: number;
  im: number;
}

function toComplex(v: unknown): Complexish | undefined {
  if (typeof v === "number") return { re: v, im: 0 };
  if (typeof v === "boolean") return undefined;
  if (v && typeof v === "object") {
    const o = v as { re?: unknown; im?: unknown; toNumber?: () => number };
    if (typeof o.re === "number" && typeof o.im === "number") return { re: o.re, im: o.im };
    if (typeof o.toNumber === "function") return { re: o.toNumber(), im: 0 };
  }
  return undefined;
}

function evalAt(
  v: Extract<MathValue, { kind: "expr" }>,
  scope: Record<string, number>,
): Complexish | undefined {
  if (v.real) {
    const r = v.real(scope);
    if (!Number.isNaN(r)) return { re: r, im: 0 };
  }
  try {
    const cas = v.cas();
    return cas ? toComplex(cas.evaluate({ ...scope })) : undefined;
  } catch {
    return undefined;
  }
}

function asExpr(v: MathValue): Extract<MathValue, { kind: "expr" }> | undefined {
  return v.kind === "expr" ? v : undefined;
}

/** Numeric value of a number or constant expression. */
function constValue(v: MathValue): Complexish | undefined {
  if (v.kind === "number") return { re: ratToNumber(v.value), im: 0 };
  if (v.kind === "expr" && v.vars.length === 0) return evalAt(v, {});
  return undefined;
}

/** The exact rational value of an exact number or a constant rational expression (`\\frac{1}{2004!}`). */
function exactValue(v: MathValue): Rational | undefined {
  if (v.kind === "number") return v.approx || v.percent ? undefined : v.value;
  if (v.kind === "expr" && v.vars.length === 0 && !/\d\.\d/.test(v.expr)) return evalExact(v.expr);
  return undefined;
}

/** A float that stands for a nonzero exact value but underflowed to 0 or overflowed: not comparable numerically. */
function lostRange(x: Rational | undefined, f: number): boolean {
  if (!Number.isFinite(f)) return true;
  if (!x) return f !== 0 && (Math.abs(f) < 1e-250 || Math.abs(f) > 1e250);
  return x.num !== 0n && (f === 0 || Math.abs(f) < 1e-250 || Math.abs(f) > 1e250);
}

function exprEq(a: MathValue, b: MathValue, o: EquivOptions): boolean {
  const xa = exactValue(a);
  const xb = exactValue(b);
  if (xa && xb) return ratEq(xa, xb);
  // A decimal against a rational constant expression (`0.333` and `\frac{2}{3!}`): the decimal rule.
  const ra = xa ?? (a.kind === "number" && !a.percent ? a.value : undefined);
  const rb = xb ?? (b.kind === "number" && !b.percent ? b.value : undefined);
  if (ra && rb) return ratNumEq(ra, a, rb, b, o);
  const ca = constValue(a);
  const cb = constValue(b);
  if (ca && cb) {
    if (ca.re === cb.re && ca.im === cb.im) return true;
    // A gold decimal against an irrational constant (`1.41` and `\sqrt{2}`): half a unit of its last digit.
    const half = !xb && goldHalfUnit(a);
    if (half && cb.im === 0 && Number.isFinite(cb.re))
      return Math.abs(ca.re - cb.re) <= ratToNumber(half) * (1 + 1e-9) + 1e-15 * Math.abs(ca.re);
    if (lostRange(xa, ca.re) || lostRange(xb, cb.re)) return false;
    return close(ca.re, cb.re, o.tolerance) && close(ca.im, cb.im, o.tolerance);
  }
  const ea = a.kind === "expr" ? a : undefined;
  const eb = b.kind === "expr" ? b : undefined;
  if (!ea && !eb) return false;
  const vars = [...new Set([...(ea?.vars ?? []), ...(eb?.vars ?? [])])];
  let agreed = 0;
  for (const pt of POINTS) {
    const scope: Record<string, number> = {};
    vars.forEach((name, k) => {
      scope[name] = pt[k % pt.length] + Math.floor(k / pt.length) * 0.1;
    });
    const va = ea ? evalAt(ea, scope) : ca;
    const vb = eb ? evalAt(eb, scope) : cb;
    if (!va || !vb) continue;
    const fa = Number.isFinite(va.re) && Number.isFinite(va.im);
    const fb = Number.isFinite(vb.re) && Number.isFinite(vb.im);
    if (!fa || !fb) {
      if (fa !== fb) return false;
      continue;
    }
    if (!(close(va.re, vb.re, o.tolerance) && close(va.im, vb.im, o.tolerance))) return false;
    agreed++;
  }
  if (agreed >= 3) return true;
  // Inconclusive numerically (domain errors at every point): ask the CAS.
  // Bounded: simplify on long expressions can take seconds.
  if (ea && eb && ea.expr.length + eb.expr.length <= 400) {
    try {
      const d = simplify(`(${ea.expr}) - (${eb.expr})`);
      return d.toString() === "0";
    } catch {
      return false;
    }
  }
  return false;
}

/** `x`, `x_1`, `\theta`, or function notation `f(x)` on the left of `x = 3` / `f(x) = 2x`. */
function isLoneVariable(v: MathValue): boolean {
  if (v.kind === "expr" && v.vars.length === 1 && v.expr === v.vars[0]) return true;
  return /^(?:[A-Za-z]|\\[a-z]+)(?:_\{?\w+\}?)?(?:\([^()]*\))?$/.test(v.text.replace(/\s+/g, ""));
}

/**
 * The left side of a gold `name = value` that names the answer rather than constrains it: `x`, `f(x)`, `(p,q)`,
 * `\\frac{NO}{BO}`, `|AB|`, `S_{MBCN}:S`. No digits (outside subscripts) and no `+`/`-`: `7 = 11a + c` and
 * `a + 3z = 0` are equations to satisfy, not names.
 */
function isAssignedName(v: MathValue): boolean {
  if (isLoneVariable(v)) return true;
  const t = v.text.replace(/_\{[^{}]*\}|_[A-Za-z0-9]/g, "").replace(/\s+/g, "");
  return /[A-Za-z]/.test(t) && /^(?:[A-Za-z(),:|{}^]|\\frac)+$/.test(t);
}

function isConstant(v: MathValue): boolean {
  return v.kind === "number" || (v.kind === "expr" && v.vars.length === 0);
}

/** Same members, duplicates ignored: for lists of tuples (`(1,2), (2,1), (1,2)`), which are sets of solutions. */
function setEq(a: MathValue[], b: MathValue[], o: EquivOptions): boolean {
  const covers = (x: MathValue[], y: MathValue[]) => x.every((u) => y.some((w) => equivalent(u, w, o)));
  return covers(a, b) && covers(b, a);
}

function allTuples(xs: MathValue[]): boolean {
  return xs.every((x) => x.kind === "seq" && x.open === "(");
}

function multisetEq(a: MathValue[], b: MathValue[], o: EquivOptions): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  outer: for (const x of a) {
    for (let j = 0; j < b.length; j++) {
      if (!used[j] && equivalent(x, b[j], o)) {
        used[j] = true;
        continue outer;
      }
    }
    return false;
  }
  return true;
}

function seqItems(v: MathValue): MathValue[] | undefined {
  if (v.kind === "seq") return v.items;
  if (v.kind === "matrix") {
    if (v.rows.length === 1) return v.rows[0];
    if (v.rows.every((r) => r.length === 1)) return v.rows.map((r) => r[0]);
  }
  return undefined;
}

/** Whether `pred` is an acceptable form of `gold`. */
export function equivalent(gold: MathValue, pred: MathValue, o: EquivOptions = DEFAULT_EQUIV): boolean {
  if (gold.text === pred.text && gold.kind === pred.kind && gold.kind !== "expr") return true;

  // Equations.
  if (gold.kind === "equation" || pred.kind === "equation") {
    if (gold.kind === "equation" && pred.kind === "equation") {
      if (equivalent(gold.lhs, pred.lhs, o) && equivalent(gold.rhs, pred.rhs, o)) return true;
      if (equivalent(gold.lhs, pred.rhs, o) && equivalent(gold.rhs, pred.lhs, o)) return true;
      const dg = difference(gold);
      const dp = difference(pred);
      if (dg && dp) return proportional(dg, dp, o);
      return false;
    }
    if (!o.equationRhs) return false;
    if (gold.kind === "equation") return isAssignedName(gold.lhs) && equivalent(gold.rhs, pred, o);
    if (pred.kind === "equation") {
      // `x = 3`, or a true computation `12 + 7 = 19` whose result is the answer.
      const named = isLoneVariable(pred.lhs) || (isConstant(pred.lhs) && equivalent(pred.lhs, pred.rhs, o));
      return named && equivalent(gold, pred.rhs, o);
    }
  }

  if (gold.kind === "union" || pred.kind === "union") {
    if (gold.kind === "union" && pred.kind === "union") return multisetEq(gold.parts, pred.parts, o);
    return false;
  }

  if (gold.kind === "matrix" && pred.kind === "matrix") {
    if (gold.rows.length !== pred.rows.length) return false;
    return gold.rows.every(
      (r, i) => r.length === pred.rows[i].length && r.every((c, j) => equivalent(c, pred.rows[i][j], o)),
    );
  }

  if (gold.kind === "seq" || pred.kind === "seq" || gold.kind === "matrix" || pred.kind === "matrix") {
    const gi = seqItems(gold);
    const pi = seqItems(pred);
    if (!gi || !pi) return false;
    const go = gold.kind === "seq" ? gold.open : "(";
    const po = pred.kind === "seq" ? pred.open : "(";
    const gc = gold.kind === "seq" ? gold.close : ")";
    const pc = pred.kind === "seq" ? pred.close : ")";
    const isSet = go === "{" || po === "{";
    const bare = go === "" || po === "";
    // Lists of tuples compare as sets of solutions, where a repeated tuple counts once.
    if (go === "" && po === "" && o.unorderedLists && allTuples(gi) && allTuples(pi)) return setEq(gi, pi, o);
    if (gi.length !== pi.length) return false;
    if (isSet) {
      if (!(go === "{" || go === "") || !(po === "{" || po === "")) return false;
      return multisetEq(gi, pi, o);
    }
    if (bare) {
      if (go === "" && po === "" && o.unorderedLists) return multisetEq(gi, pi, o);
      // A bare list against a bracketed tuple: same order required.
      return gi.every((x, k) => equivalent(x, pi[k], o));
    }
    if (go !== po || gc !== pc) return false;
    return gi.every((x, k) => equivalent(x, pi[k], o));
  }

  if (gold.kind === "number" && pred.kind === "number") return numEq(gold, pred, o);

  if ((gold.kind === "number" || gold.kind === "expr") && (pred.kind === "number" || pred.kind === "expr")) {
    return exprEq(gold, pred, o);
  }

  if (gold.kind === "relation" && pred.kind === "relation") return gold.text === pred.text;
  // Text against anything: canonical text of both.
  return canonical(gold) === canonical(pred);
}

/** Text comparison key: lowercase, no spaces / braces / backslashes; a choice letter "(C)" is "c". */
function canonical(v: MathValue): string {
  const t = v.text.toLowerCase().replace(/[\s{}\\]/g, "");
  const choice = /^\(([a-z])\)$/.exec(t);
  return choice ? choice[1] : t;
}

function difference(v: Extract<MathValue, { kind: "equation" }>): string | undefined {
  const l = asExpr(v.lhs)?.expr ?? (v.lhs.kind === "number" ? numberExpr(v.lhs.value) : undefined);
  const r = asExpr(v.rhs)?.expr ?? (v.rhs.kind === "number" ? numberExpr(v.rhs.value) : undefined);
  return l && r ? `(${l}) - (${r})` : undefined;
}

function numberExpr(r: Rational): string {
  return `(${r.num} / ${r.den})`;
}

/** Whether a = c·b for one nonzero constant c at every sample point (equations `2y = 4x + 2` ≡ `y = 2x + 1`). */
function proportional(a: string, b: string, o: EquivOptions): boolean {
  const va = compileFree(a);
  const vb = compileFree(b);
  if (va?.kind !== "expr" || vb?.kind !== "expr") return false;
  const vars = [...new Set([...va.vars, ...vb.vars])];
  let ratio: number | undefined;
  let agreed = 0;
  for (const pt of POINTS) {
    const scope: Record<string, number> = {};
    vars.forEach((name, k) => {
      scope[name] = pt[k % pt.length] + Math.floor(k / pt.length) * 0.1;
    });
    const x = evalAt(va, scope);
    const y = evalAt(vb, scope);
    if (!x || !y || !Number.isFinite(x.re) || !Number.isFinite(y.re) || x.im !== 0 || y.im !== 0) continue;
    if (Math.abs(x.re) < 1e-12 && Math.abs(y.re) < 1e-12) continue;
    if (Math.abs(y.re) < 1e-12) return false;
    const r = x.re / y.re;
    if (ratio === undefined) ratio = r;
    else if (!close(r, ratio, o.tolerance)) return false;
    agreed++;
  }
  return ratio !== undefined && ratio !== 0 && agreed >= 3;
}

function compileFree(expr: string): MathValue | undefined {
  const vars = [...new Set(expr.match(/v_[A-Za-z0-9_]+/g) ?? [])].sort();
  const c = compileExpr(expr, vars);
  if (!c.real && !c.cas()) return undefined;
  return Object.assign(c, { kind: "expr" as const, text: expr });
}
