/**
 * Parses a normalised answer into a structured value: number (exact rational), expression (mathjs), sequence
 * (tuple / interval / set / bare list), matrix, equation, union of intervals, or text.
 */
import { type CompiledExpr, compileExpr } from "./evaluate.ts";
import { latexToMathjs } from "./latex.ts";
import { canonicalText, stripNoise, UNIT_WORDS } from "./normalize.ts";
import {
  isDecimalLiteral,
  parseDecimal,
  type Rational,
  rat,
  ratAdd,
  ratDiv,
  ratMul,
  ratToNumber,
} from "./rational.ts";

export type MathValue =
  | {
      kind: "number";
      value: Rational;
      approx: boolean;
      percent: boolean;
      text: string;
      /** A decimal literal's written precision: the value of one unit in its last digit (`0.333` → 1/1000). */
      unit?: Rational;
      /** Significant digits written (`0.050` → 2). */
      sig?: number;
    }
  | ({ kind: "expr"; text: string } & CompiledExpr)
  | { kind: "seq"; open: string; close: string; items: MathValue[]; text: string }
  | { kind: "matrix"; rows: MathValue[][]; text: string }
  | { kind: "equation"; lhs: MathValue; rhs: MathValue; text: string }
  | { kind: "relation"; text: string }
  | { kind: "union"; parts: MathValue[]; text: string }
  | { kind: "text"; text: string };

/** Splits at top-level occurrences of `sep` (outside (), [], {}, \{\}). */
export function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "\\") {
      if (s.startsWith(sep, i) && depth === 0) {
        parts.push(s.slice(start, i));
        i += sep.length - 1;
        start = i + 1;
        continue;
      }
      i++;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      i += sep.length - 1;
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Whether the bracket at 0 closes exactly at the end of `s`. */
function wraps(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      depth--;
      if (depth === 0 && i !== s.length - 1) return false;
    }
  }
  return depth === 0;
}

const NUM = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)`;
const FRAC_RE = new RegExp(String.raw`^([+-]?)\\frac\s*\{\s*(${NUM})\s*\}\s*\{\s*(${NUM})\s*\}$`);
const FRAC_SHORT_RE = /^([+-]?)\\frac\s*(\d)\s*(\d)$/;
const SLASH_RE = new RegExp(String.raw`^(${NUM})\s*/\s*(${NUM})$`);
const MIXED_RE = /^([+-]?)(\d+)\s*\\frac\s*(?:\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|(\d)(\d))$/;
const SCI_RE = new RegExp(
  String.raw`^(${NUM})\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?$`,
);
const THOUSANDS_RE = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;

export interface ParsedNumber {
  value: Rational;
  approx: boolean;
  percent: boolean;
  unit?: Rational;
  sig?: number;
}

/**
 * Written precision of a decimal mantissa with a decimal point and at least one digit after it, times 10^exp:
 * `0.333` → unit 1/1000, 3 significant digits; `2.5 \times 10^3` → unit 100, 2 digits. Integers and mantissas
 * without a fractional digit (`5e3`, `3.`) have none.
 */
function precision(mantissa: string, exp = 0): { unit: Rational; sig: number } | undefined {
  const m = /^[+-]?(\d*)\.(\d+)$/.exec(mantissa);
  if (!m || Math.abs(exp) > 400) return undefined;
  const shift = exp - m[2].length;
  const unit = shift >= 0 ? rat(10n ** BigInt(shift)) : rat(1n, 10n ** BigInt(-shift));
  const sig = (m[1] + m[2]).replace(/^0+/, "").length;
  return unit && sig > 0 ? { unit, sig } : undefined;
}

function decimalPrecision(t: string): { unit: Rational; sig: number } | undefined {
  const m = /^([+-]?\d*\.\d+)(?:[eE]([+-]?\d+))?$/.exec(t);
  return m ? precision(m[1], m[2] === undefined ? 0 : Number(m[2])) : undefined;
}

/** Exact number of a plain or LaTeX numeric literal, or undefined. */
export function parseNumber(s: string): ParsedNumber | undefined {
  let t = s.trim();
  let percent = false;
  if (/\\?%$/.test(t)) {
    percent = true;
    t = t.replace(/\s*\\?%$/, "").trim();
  }
  if (THOUSANDS_RE.test(t)) t = t.replace(/,/g, "");
  let m: RegExpExecArray | null;
  const d = parseDecimal(t);
  if (d) return { value: d, approx: isDecimalLiteral(t), percent, ...decimalPrecision(t) };
  if ((m = FRAC_RE.exec(t)) || (m = FRAC_SHORT_RE.exec(t))) {
    const a = parseDecimal(m[2]);
    const b = parseDecimal(m[3]);
    if (!a || !b) return undefined;
    const q = ratDiv(a, b);
    if (!q) return undefined;
    return { value: m[1] === "-" ? { num: -q.num, den: q.den } : q, approx: /\./.test(m[2] + m[3]), percent };
  }
  if ((m = SLASH_RE.exec(t))) {
    const a = parseDecimal(m[1]);
    const b = parseDecimal(m[2]);
    const q = a && b ? ratDiv(a, b) : undefined;
    return q ? { value: q, approx: /\./.test(m[1] + m[2]), percent } : undefined;
  }
  if ((m = MIXED_RE.exec(t))) {
    // Mixed number: 2\frac{1}{2} = 5/2 (LaTeX answers in MATH write mixed numbers this way).
    const w = rat(BigInt(m[2]));
    const f = rat(BigInt(m[3] ?? m[5]), BigInt(m[4] ?? m[6]));
    const q = w && f ? ratAdd(w, f) : undefined;
    return q ? { value: m[1] === "-" ? { num: -q.num, den: q.den } : q, approx: false, percent } : undefined;
  }
  if ((m = SCI_RE.exec(t))) {
    const base = parseDecimal(m[1]);
    const e = Number(m[2]);
    if (!base || Math.abs(e) > 400) return undefined;
    const scale = e >= 0 ? rat(10n ** BigInt(e)) : rat(1n, 10n ** BigInt(-e));
    const q = scale ? rat(base.num * scale.num, base.den * scale.den) : undefined;
    return q ? { value: q, approx: true, percent, ...precision(m[1].replace(/^[+-]/, ""), e) } : undefined;
  }
  return undefined;
}

const LIST_WORDS = /\s+(?:or|and)\s+|(?<=[)\]])\s*(?:or|and)\s*(?=[([])/;
const MATRIX_RE = /^\\begin\{([pbvBV]?matrix|array|smallmatrix)\}(?:\{[^}]*\})?([\s\S]*)\\end\{\1\}$/;
const BRACKETED_ARRAY = /^[[(]\s*(\\begin\{array\}[\s\S]*\\end\{array\})\s*[\])]$/;
const MAX_ANSWER_CHARS = 2000;

/** Parses an answer string (raw, noise included) into a MathValue; undefined for an empty answer. */
export function parseAnswer(raw: string): MathValue | undefined {
  // Fast path: a plain integer or decimal needs no normalisation.
  const plain = raw.trim();
  if (plain.length < 300 && /^-?\d+(?:\.\d+)?$/.test(plain)) {
    const n = parseNumber(plain);
    if (n) return { kind: "number", ...n, text: plain };
  }
  let s = stripNoise(raw);
  if (!s) return undefined;
  if (s.includes(";")) {
    // `p=5,q=2;p=7,q=2` is the list of solutions `(5,2),(7,2)`; otherwise (`-12;-11;-10`, `(0;-2;6)`)
    // semicolons separate items like commas.
    s = (s.length <= MAX_ANSWER_CHARS ? assignmentGroups(s) : undefined) ?? s.replace(/;/g, ",");
  }
  if (s.length > MAX_ANSWER_CHARS) return { kind: "text", text: canonicalText(s) };
  return parseInner(s, 0);
}

type NumMatrix = { rows: Rational[][]; approx: boolean };

const MATRIX_PIECE = /\\begin\{([pbvBV]?matrix)\}([\s\S]*?)\\end\{\1\}/g;

/** A matrix of exact numbers, or undefined when a cell is anything else or the rows are ragged. */
function numericMatrix(body: string): NumMatrix | undefined {
  const rows = body
    .split(/\\\\/)
    .map((r) => r.trim())
    .filter((r) => r.length)
    .map((r) => r.split("&").map((c) => parseNumber(c)));
  if (!rows.length || rows.some((r) => r.length !== rows[0].length)) return undefined;
  let approx = false;
  const out: Rational[][] = [];
  for (const r of rows) {
    const row: Rational[] = [];
    for (const c of r) {
      if (!c || c.percent) return undefined;
      approx ||= c.approx;
      row.push(c.value);
    }
    out.push(row);
  }
  return { rows: out, approx };
}

function matMul(a: NumMatrix, b: NumMatrix): NumMatrix | undefined {
  const n = a.rows[0].length;
  if (n !== b.rows.length) return undefined;
  const rows: Rational[][] = [];
  for (const ar of a.rows) {
    const row: Rational[] = [];
    for (let j = 0; j < b.rows[0].length; j++) {
      let acc: Rational | undefined = rat(0n);
      for (let k = 0; k < n && acc; k++) {
        const p = ratMul(ar[k], b.rows[k][j]);
        acc = p && ratAdd(acc, p);
      }
      if (!acc) return undefined;
      row.push(acc);
    }
    rows.push(row);
  }
  return { rows, approx: a.approx || b.approx };
}

function matAdd(a: NumMatrix, b: NumMatrix, sign: 1n | -1n): NumMatrix | undefined {
  if (a.rows.length !== b.rows.length || a.rows[0].length !== b.rows[0].length) return undefined;
  const rows: Rational[][] = [];
  for (let i = 0; i < a.rows.length; i++) {
    const row: Rational[] = [];
    for (let j = 0; j < a.rows[i].length; j++) {
      const y = b.rows[i][j];
      const q = ratAdd(a.rows[i][j], { num: sign * y.num, den: y.den });
      if (!q) return undefined;
      row.push(q);
    }
    rows.push(row);
  }
  return { rows, approx: a.approx || b.approx };
}

/**
 * Sums, differences and products of matrices of numbers (`\\begin{pmatrix}1&2\\end{pmatrix} + \\begin{pmatrix}3&4\\end{pmatrix}`),
 * evaluated exactly; undefined for anything else (a cell that is not a number, mismatched sizes, other text).
 */
function matrixArithmetic(s: string): MathValue | undefined {
  const pieces = [...s.matchAll(MATRIX_PIECE)];
  if (pieces.length < 2 || pieces.length > 8) return undefined;
  const terms: { sign: 1n | -1n; m: NumMatrix }[] = [];
  let at = 0;
  for (const p of pieces) {
    const op = s.slice(at, p.index).trim();
    const m = numericMatrix(p[2]);
    if (!m) return undefined;
    if (terms.length === 0) {
      if (op !== "") return undefined;
      terms.push({ sign: 1n, m });
    } else if (op === "+" || op === "-") {
      terms.push({ sign: op === "-" ? -1n : 1n, m });
    } else if (op === "" || op === "\\cdot" || op === "\\times") {
      const last = terms[terms.length - 1];
      const prod = matMul(last.m, m);
      if (!prod) return undefined;
      last.m = prod;
    } else return undefined;
    at = p.index + p[0].length;
  }
  if (s.slice(at).trim() !== "") return undefined;
  let acc: NumMatrix | undefined = terms[0].m;
  for (const t of terms.slice(1)) acc = acc && matAdd(acc, t.m, t.sign);
  if (!acc) return undefined;
  const approx = acc.approx;
  const rows = acc.rows.map((r) =>
    r.map((value): MathValue => ({ kind: "number", value, approx, percent: false, text: ratText(value) })),
  );
  return { kind: "matrix", rows, text: s };
}

function ratText(r: Rational): string {
  return r.den === 1n ? `${r.num}` : `${r.num}/${r.den}`;
}

const ASSIGNMENT = /^\s*([A-Za-z](?:_\{?\w+\}?)?)\s*=\s*([^=<>]+?)\s*$/;

/**
 * Groups of assignments to the same variables, one group per solution (`p=5,q=2;p=7,q=2`), as the list of tuples
 * `(5,2),(7,2)`; undefined for anything else.
 */
function assignmentGroups(s: string): string | undefined {
  const groups = splitTop(s, ";");
  if (groups.length < 2) return undefined;
  let names: string | undefined;
  const tuples: string[] = [];
  for (const g of groups) {
    const parts = splitTop(g, ",").map((a) => ASSIGNMENT.exec(a));
    if (parts.length < 2 || parts.some((m) => !m)) return undefined;
    const these = parts.map((m) => m![1].replace(/[{}]/g, "")).join(",");
    if (names !== undefined && names !== these) return undefined;
    names = these;
    tuples.push(`(${parts.map((m) => m![2]).join(",")})`);
  }
  return tuples.join(",");
}

/** `(x, y) = (5, 8)` as an item of a list of solutions: the tuple `(5, 8)`, its left side only names it. */
function namedTuple(v: MathValue): MathValue {
  if (v.kind !== "equation" || v.lhs.kind !== "seq" || v.rhs.kind !== "seq") return v;
  const { lhs, rhs } = v;
  if (lhs.open !== "(" || rhs.open !== "(" || lhs.items.length !== rhs.items.length) return v;
  const names = lhs.items.map((x) => x.text.replace(/\s+/g, ""));
  const lone = names.every((n) => /^(?:[A-Za-z]|\\[a-z]+)(?:_\{?\w+\}?)?$/.test(n));
  return lone && new Set(names).size === names.length ? rhs : v;
}

function parseInner(s0: string, depth: number): MathValue {
  const s = s0.trim();
  const text = s;
  if (depth > 8) return { kind: "text", text: canonicalText(s) };

  if (s.includes("matrix}") && s.indexOf("\\begin{") !== s.lastIndexOf("\\begin{")) {
    const m = matrixArithmetic(s);
    if (m) return m;
  }
  // `\\left[\\begin{array}{cc}…\\end{array}\\right]`: the brackets drawn around an array are a matrix's.
  const mm = MATRIX_RE.exec(BRACKETED_ARRAY.exec(s)?.[1] ?? s);
  if (mm) {
    const rows = mm[2]
      .split(/\\\\/)
      .map((r) => r.trim())
      .filter((r) => r.length)
      .map((r) => r.split("&").map((c) => parseInner(c, depth + 1)));
    return { kind: "matrix", rows, text };
  }

  // Union of intervals / sets.
  const union = splitTop(s, "\\cup");
  if (union.length > 1) return { kind: "union", parts: union.map((p) => parseInner(p, depth + 1)), text };

  // Set: \{a, b\}.
  if (s.startsWith("\\{") && s.endsWith("\\}")) {
    const inner = s.slice(2, -2).trim();
    const items = inner ? splitTop(inner, ",").map((p) => parseInner(p, depth + 1)) : [];
    return { kind: "seq", open: "{", close: "}", items, text };
  }
  if (s === "\\emptyset" || s === "\\varnothing" || s === "\\{\\}")
    return { kind: "seq", open: "{", close: "}", items: [], text };

  // Tuple / interval: (a, b), [a, b), \langle a, b \rangle.
  let body = s;
  let open = "";
  let close = "";
  if (s.startsWith("\\langle") && s.endsWith("\\rangle")) {
    body = s.slice(7, -7).trim();
    open = "(";
    close = ")";
  } else if ((s[0] === "(" || s[0] === "[") && (s.endsWith(")") || s.endsWith("]")) && wraps(s)) {
    body = s.slice(1, -1);
    open = s[0];
    close = s[s.length - 1];
  }
  // "1,000" is a number, but "(99,100)" is a tuple.
  if (open !== "" || !THOUSANDS_RE.test(body.trim())) {
    let items = splitTop(body, ",")
      .map((p) => p.replace(/^\s*(?:and|or)\s+/, ""))
      .filter((p, k, all) => p.trim() !== "" || k < all.length - 1);
    // A bare list may join its last items with words: `21, 16 or 11`.
    if (open === "" && items.length > 1) items = items.flatMap((p) => p.split(LIST_WORDS));
    if (items.length > 1) {
      const values = items.map((p) => parseInner(p, depth + 1));
      return { kind: "seq", open, close, items: open === "" ? values.map(namedTuple) : values, text };
    }
    // "x = 1 or x = 2" / "1 and 2" / "(11,7)or(7,11)" read as a bare list.
    const words = body.split(LIST_WORDS);
    if (open === "" && words.length > 1) {
      const values = words.map((p) => namedTuple(parseInner(p, depth + 1)));
      return { kind: "seq", open: "", close: "", items: values, text };
    }
  }

  // a \pm b → the bare list {a + b, a - b}.
  const pm = splitTop(s, "\\pm");
  if (pm.length === 2 && pm[1].trim()) {
    const a = pm[0].trim() || "0";
    const items = [`${a}+(${pm[1]})`, `${a}-(${pm[1]})`].map((p) => parseInner(p, depth + 1));
    return { kind: "seq", open: "", close: "", items, text };
  }

  // Equation.
  const eq = splitTop(s, "=");
  if (eq.length >= 2) {
    const lhs = parseInner(eq[0], depth + 1);
    const rhs = parseInner(eq[eq.length - 1], depth + 1);
    return { kind: "equation", lhs, rhs, text };
  }
  if (/\\le |\\ge |\\ne |[<>]/.test(s))
    return relationToInterval(s, depth) ?? { kind: "relation", text: canonicalText(s) };

  const n = parseNumber(s);
  if (n) return { kind: "number", ...n, text };

  // Trailing unit words after a number: "5 cm", "12 \text{ dollars}" (already unwrapped), "30 degrees".
  // A single letter with an exponent is a variable (`2 x^2`), except square and cubic metres.
  const um = /^(.*?[\d}])\s+([A-Za-z][A-Za-z ^23]*)$/.exec(s);
  const unit = um?.[2].trim() ?? "";
  if (um && UNIT_WORDS.test(unit) && (/^[A-Za-z]{2}/.test(unit) || /^m\^?[23]$/.test(unit))) {
    const n2 = parseNumber(um[1]);
    if (n2) return { kind: "number", ...n2, text };
  }

  // Words ("east", "odd", "no solution") are text, not products of single-letter variables.
  if (
    /^[A-Za-z][A-Za-z\s'-]*$/.test(s) &&
    /[A-Za-z]{3,}/.test(s) &&
    !/\b(?:sin|cos|tan|log|ln|exp|sqrt|pi)\b/.test(s)
  ) {
    return { kind: "text", text: canonicalText(s) };
  }
  const ex = compileLatex(s);
  if (ex) return Object.assign(ex, { kind: "expr" as const, text });
  return { kind: "text", text: canonicalText(s) };
}

function compileLatex(s: string): CompiledExpr | undefined {
  try {
    const c = latexToMathjs(s);
    const compiled = compileExpr(c.expr, c.vars);
    // The real path covers the common case; without it, require mathjs to parse (else it is not math).
    if (!compiled.real && !compiled.cas()) return undefined;
    return compiled;
  } catch {
    return undefined;
  }
}

const REL = String.raw`(<|>|\\le |\\ge )`;

/** `x > 3` → (3, ∞), `x \le 2` → (-∞, 2], `1 < x \le 2` → (1, 2]; undefined when not of that shape. */
function relationToInterval(s: string, depth: number): MathValue | undefined {
  const norm = s.replace(/\\le(?!\w)\s*/g, "\\le ").replace(/\\ge(?!\w)\s*/g, "\\ge ");
  const two = new RegExp(
    `^(.+?)\\s*${REL}\\s*([A-Za-z](?:\\([a-z]\\))?|\\|\\s*[A-Za-z]\\s*\\|)\\s*${REL}\\s*(.+)$`,
  ).exec(norm);
  const inf = (sign: string) => parseInner(`${sign}\\infty`, depth + 1);
  if (two) {
    const [, a, r1, middle, r2, b] = two;
    const lower = r1 === "<" || r1.startsWith("\\le");
    if (lower !== (r2 === "<" || r2.startsWith("\\le"))) return undefined;
    const [lo, hi, rlo, rhi] = lower ? [a, b, r1, r2] : [b, a, r2, r1];
    const open = rlo === "<" || rlo === ">" ? "(" : "[";
    const close = rhi === "<" || rhi === ">" ? ")" : "]";
    if (middle.startsWith("|")) return absBetween(lo, hi, open, close, s, depth);
    return {
      kind: "seq",
      open,
      close,
      items: [parseInner(lo, depth + 1), parseInner(hi, depth + 1)],
      text: s,
    };
  }
  // `-x > -1` is `x < 1`.
  const neg = new RegExp(`^-\\s*([A-Za-z])\\s*${REL}\\s*(.+)$`).exec(norm);
  if (neg) return relationToInterval(`${neg[1]} ${FLIP[neg[2]]} -(${neg[3]})`, depth);
  const m = new RegExp(`^([A-Za-z])\\s*${REL}\\s*(.+)$`).exec(norm);
  const one = m ? { relation: m[2], bound: m[3] } : reversed(norm);
  if (!one) return undefined;
  const { relation: r, bound: v } = one;
  const bound = parseInner(v, depth + 1);
  if (r === ">") return { kind: "seq", open: "(", close: ")", items: [bound, inf("")], text: s };
  if (r.startsWith("\\ge")) return { kind: "seq", open: "[", close: ")", items: [bound, inf("")], text: s };
  if (r === "<") return { kind: "seq", open: "(", close: ")", items: [inf("-"), bound], text: s };
  return { kind: "seq", open: "(", close: "]", items: [inf("-"), bound], text: s };
}

/**
 * `1 \\le |z| \\le \\frac32` → `[-\\frac32, -1] \\cup [1, \\frac32]` (real z); undefined unless the lower bound is a
 * positive number.
 */
function absBetween(lo: string, hi: string, open: string, close: string, s: string, depth: number) {
  const low = parseInner(lo, depth + 1);
  const v =
    low.kind === "number"
      ? ratToNumber(low.value)
      : low.kind === "expr" && low.vars.length === 0
        ? (low.real?.({}) ?? Number.NaN)
        : Number.NaN;
  if (!(v > 0)) return undefined;
  const mirror: Record<string, string> = { "(": ")", "[": "]", ")": "(", "]": "[" };
  const neg = (x: string) => parseInner(`-(${x})`, depth + 1);
  const left: MathValue = {
    kind: "seq",
    open: mirror[close],
    close: mirror[open],
    items: [neg(hi), neg(lo)],
    text: `${mirror[close]}-(${hi}),-(${lo})${mirror[open]}`,
  };
  const right: MathValue = {
    kind: "seq",
    open,
    close,
    items: [low, parseInner(hi, depth + 1)],
    text: `${open}${lo},${hi}${close}`,
  };
  return { kind: "union", parts: [left, right], text: s } satisfies MathValue;
}

const FLIP: Record<string, string> = { "<": ">", ">": "<", "\\le ": "\\ge ", "\\ge ": "\\le " };

/** `3 < x` → the relation and bound of `x > 3`. */
function reversed(s: string): { relation: string; bound: string } | null {
  const m = new RegExp(`^(.+?)\\s*${REL}\\s*([A-Za-z])$`).exec(s);
  if (!m) return null;
  return { relation: FLIP[m[2]] ?? m[2], bound: m[1] };
}
