/**
 * A small, safe arithmetic parser for Countdown answers: non-negative integer literals, + - * / (also × ÷ x),
 * parentheses. Recursive descent with a depth and length limit; exact rational evaluation; no eval, no globals.
 *
 *   expr   := term (("+" | "-") term)*
 *   term   := factor (("*" | "/") factor)*
 *   factor := integer | "(" expr ")"
 *
 * Unary minus is not part of the game and is a parse error.
 */
import { add, div, mul, type Rational, rational, sub } from "./rational.ts";

export type Expr =
  | { kind: "num"; value: number; at: number }
  | { kind: "bin"; op: "+" | "-" | "*" | "/"; left: Expr; right: Expr; at: number };

export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based character offset of the problem in the expression. */
    readonly offset: number,
  ) {
    super(`${message} at position ${offset + 1}`);
    this.name = "ExpressionSyntaxError";
  }
}

/** Longest expression accepted (characters) and deepest nesting: bounds work and recursion on hostile input. */
export const MAX_EXPRESSION_LENGTH = 256;
export const MAX_DEPTH = 32;
/** Largest literal accepted (Countdown numbers are small; this keeps BigInt sizes bounded). */
export const MAX_LITERAL = 1_000_000;

type Token =
  | { t: "num"; v: number; at: number }
  | { t: "op"; v: "+" | "-" | "*" | "/" | "(" | ")"; at: number };

const OPS: Record<string, "+" | "-" | "*" | "/" | "(" | ")"> = {
  "+": "+",
  "-": "-",
  "−": "-",
  "*": "*",
  "×": "*",
  x: "*",
  X: "*",
  "/": "/",
  "÷": "/",
  "(": "(",
  ")": ")",
};

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
    } else if (c >= "0" && c <= "9") {
      const start = i;
      while (i < src.length && src[i] >= "0" && src[i] <= "9") i++;
      if (src[i] === ".") throw new ExpressionSyntaxError("decimal numbers are not allowed", i);
      const v = Number(src.slice(start, i));
      if (v > MAX_LITERAL)
        throw new ExpressionSyntaxError(`number ${src.slice(start, i)} is too large`, start);
      out.push({ t: "num", v, at: start });
    } else if (OPS[c] !== undefined) {
      out.push({ t: "op", v: OPS[c], at: i });
      i++;
    } else {
      throw new ExpressionSyntaxError(`unexpected character '${c}'`, i);
    }
  }
  return out;
}

/** Parses an expression; throws ExpressionSyntaxError with the offending position. */
export function parseExpression(src: string): Expr {
  if (src.length > MAX_EXPRESSION_LENGTH)
    throw new ExpressionSyntaxError(
      `expression longer than ${MAX_EXPRESSION_LENGTH} characters`,
      MAX_EXPRESSION_LENGTH,
    );
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const end = () => (tokens.length ? tokens[tokens.length - 1].at + 1 : 0);

  const expr = (depth: number): Expr => {
    let left = term(depth);
    for (let tok = peek(); tok?.t === "op" && (tok.v === "+" || tok.v === "-"); tok = peek()) {
      pos++;
      left = { kind: "bin", op: tok.v, left, right: term(depth), at: tok.at };
    }
    return left;
  };
  const term = (depth: number): Expr => {
    let left = factor(depth);
    for (let tok = peek(); tok?.t === "op" && (tok.v === "*" || tok.v === "/"); tok = peek()) {
      pos++;
      left = { kind: "bin", op: tok.v, left, right: factor(depth), at: tok.at };
    }
    return left;
  };
  const factor = (depth: number): Expr => {
    const tok = peek();
    if (tok === undefined) throw new ExpressionSyntaxError("unexpected end of expression", end());
    if (tok.t === "num") {
      pos++;
      return { kind: "num", value: tok.v, at: tok.at };
    }
    if (tok.v === "(") {
      if (depth >= MAX_DEPTH)
        throw new ExpressionSyntaxError(`parentheses nested deeper than ${MAX_DEPTH}`, tok.at);
      pos++;
      const inner = expr(depth + 1);
      const close = peek();
      if (close?.t !== "op" || close.v !== ")")
        throw new ExpressionSyntaxError("missing ')'", close?.at ?? end());
      pos++;
      return inner;
    }
    throw new ExpressionSyntaxError(`unexpected '${tok.v}'`, tok.at);
  };

  if (tokens.length === 0) throw new ExpressionSyntaxError("empty expression", 0);
  const tree = expr(0);
  const rest = peek();
  if (rest !== undefined)
    throw new ExpressionSyntaxError(`unexpected '${rest.t === "num" ? rest.v : rest.v}'`, rest.at);
  return tree;
}

/** Exact value of an expression. Throws RangeError("division by zero"). */
export function evaluate(e: Expr): Rational {
  if (e.kind === "num") return rational(BigInt(e.value));
  const a = evaluate(e.left);
  const b = evaluate(e.right);
  switch (e.op) {
    case "+":
      return add(a, b);
    case "-":
      return sub(a, b);
    case "*":
      return mul(a, b);
    case "/":
      return div(a, b);
  }
}

/** The integer literals of an expression, left to right. */
export function literals(e: Expr): number[] {
  return e.kind === "num" ? [e.value] : [...literals(e.left), ...literals(e.right)];
}

/** Canonical text with minimal parentheses for left-associative + - * /. */
export function format(e: Expr): string {
  if (e.kind === "num") return String(e.value);
  const prec = (x: Expr) => (x.kind === "num" ? 3 : x.op === "+" || x.op === "-" ? 1 : 2);
  const p = prec(e);
  const l = prec(e.left) < p ? `(${format(e.left)})` : format(e.left);
  // Right operand needs parentheses at equal precedence for - and / (a - (b - c)), and for safety with + *.
  const r =
    prec(e.right) < p || (prec(e.right) === p && (e.op === "-" || e.op === "/"))
      ? `(${format(e.right)})`
      : format(e.right);
  return `${l} ${e.op} ${r}`;
}
