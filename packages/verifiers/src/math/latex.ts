/**
 * A small LaTeX (and plain-text math) → mathjs expression converter. Hand-written because no maintained JS
 * library converts competition-style LaTeX (implicit multiplication, `\frac12`, `\sqrt[3]{x}`, `\sin^2 x`,
 * `\log_2 8`, single-letter variables) into an expression a CAS can evaluate; mathjs itself reads no LaTeX and
 * would read `xy` as one symbol. Output is fully explicit (`*` everywhere), variables are prefixed `v_` so they
 * never clash with mathjs built-ins; `e`, `i` and `\pi` are the constants.
 */
export class LatexError extends Error {}

export interface Converted {
  expr: string;
  vars: string[];
}

type Tok =
  | { t: "num"; v: string }
  | { t: "id"; v: string }
  | { t: "cmd"; v: string }
  | { t: "op"; v: string };

const FUNCS: Record<string, string> = {
  sin: "sin",
  cos: "cos",
  tan: "tan",
  cot: "cot",
  sec: "sec",
  csc: "csc",
  arcsin: "asin",
  arccos: "acos",
  arctan: "atan",
  sinh: "sinh",
  cosh: "cosh",
  tanh: "tanh",
  ln: "log",
  log: "log",
  exp: "exp",
  sqrt: "sqrt",
  abs: "abs",
};

const PLAIN_WORDS = [
  "arcsin",
  "arccos",
  "arctan",
  "sinh",
  "cosh",
  "tanh",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "cot",
  "sec",
  "csc",
  "exp",
  "abs",
  "log",
  "ln",
  "pi",
];

const GREEK = new Set([
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "varepsilon",
  "zeta",
  "eta",
  "theta",
  "vartheta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "rho",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "varphi",
  "chi",
  "psi",
  "omega",
  "Gamma",
  "Delta",
  "Theta",
  "Lambda",
  "Xi",
  "Sigma",
  "Phi",
  "Psi",
  "Omega",
]);

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === " " || ch === "\t" || ch === "\n") {
      i++;
      continue;
    }
    if (/[0-9.]/.test(ch)) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)/.exec(s.slice(i, i + 5000));
      if (!m) throw new LatexError(`bad number at ${i}`);
      out.push({ t: "num", v: m[0].endsWith(".") ? m[0].slice(0, -1) : m[0] });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z]/.test(ch)) {
      // Known multi-letter words in plain text (sqrt, sin, pi ...); everything else is one letter per variable.
      const rest = s.slice(i, i + 8);
      const word = PLAIN_WORDS.find((w) => rest.startsWith(w));
      if (word) {
        out.push(word === "pi" ? { t: "cmd", v: "pi" } : { t: "cmd", v: word });
        i += word.length;
      } else {
        out.push({ t: "id", v: ch });
        i++;
      }
      continue;
    }
    if (ch === "\\") {
      const m = /^\\([A-Za-z]+|.)/.exec(s.slice(i, i + 40));
      if (!m) throw new LatexError("dangling backslash");
      out.push({ t: "cmd", v: m[1] });
      i += m[0].length;
      continue;
    }
    if ("+-*/^_()[]{}|!,=<>'".includes(ch)) {
      out.push({ t: "op", v: ch });
      i++;
      continue;
    }
    throw new LatexError(`unexpected character ${JSON.stringify(ch)}`);
  }
  return out;
}

class Parser {
  private p = 0;
  private absDepth = 0;
  readonly vars = new Set<string>();
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.p];
  }
  private isOp(v: string): boolean {
    const t = this.toks[this.p];
    return t !== undefined && t.t === "op" && t.v === v;
  }
  private isCmd(v: string): boolean {
    const t = this.toks[this.p];
    return t !== undefined && t.t === "cmd" && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new LatexError(`expected ${v}`);
    this.p++;
  }

  parseAll(): string {
    const e = this.expr();
    if (this.p !== this.toks.length)
      throw new LatexError(`unexpected token ${JSON.stringify(this.toks[this.p])}`);
    return e;
  }

  expr(): string {
    let out = this.term();
    for (;;) {
      if (this.isOp("+")) {
        this.p++;
        out = `${out} + ${this.term()}`;
      } else if (this.isOp("-")) {
        this.p++;
        out = `${out} - ${this.term()}`;
      } else if (this.isCmd("pm") || this.isCmd("mp")) {
        throw new LatexError("± is not a single value");
      } else return out;
    }
  }

  private term(): string {
    let out = this.unary();
    for (;;) {
      const t = this.peek();
      if (!t) return out;
      if ((t.t === "op" && t.v === "*") || (t.t === "cmd" && (t.v === "cdot" || t.v === "times"))) {
        this.p++;
        out = `${out} * ${this.unary()}`;
      } else if ((t.t === "op" && t.v === "/") || (t.t === "cmd" && t.v === "div")) {
        this.p++;
        out = `${out} / ${this.unary()}`;
      } else if (this.startsPrimary(t)) {
        out = `${out} * ${this.power()}`;
      } else return out;
    }
  }

  private startsPrimary(t: Tok): boolean {
    if (t.t === "num" || t.t === "id") return true;
    if (t.t === "op")
      return t.v === "(" || t.v === "{" || t.v === "[" || (t.v === "|" && this.absDepth === 0);
    return (
      t.v !== "cdot" &&
      t.v !== "times" &&
      t.v !== "div" &&
      t.v !== "pm" &&
      t.v !== "mp" &&
      t.v !== "rfloor" &&
      t.v !== "rceil" &&
      t.v !== "}" &&
      t.v !== "%"
    );
  }

  private unary(): string {
    if (this.isOp("-")) {
      this.p++;
      return `(-${this.unary()})`;
    }
    if (this.isOp("+")) {
      this.p++;
      return this.unary();
    }
    return this.power();
  }

  private power(): string {
    let base = this.postfix(this.primary());
    if (this.isOp("^")) {
      this.p++;
      const exp = this.exponent();
      base = this.postfix(`(${base})^(${exp})`);
    }
    return base;
  }

  private postfix(x: string): string {
    for (;;) {
      if (this.isOp("!")) {
        this.p++;
        x = `factorial(${x})`;
      } else if (this.isCmd("%")) {
        this.p++;
        x = `(${x} / 100)`;
      } else if (this.isOp("'")) {
        throw new LatexError("derivative marks are not values");
      } else return x;
    }
  }

  /** Exponent: a group, or one token. Unlike TeX, `2^10` reads as 2^{10} (plain-text answers mean 1024). */
  private exponent(): string {
    if (this.isOp("{")) return this.group("{", "}");
    if (this.isOp("-")) {
      this.p++;
      return `-${this.exponent()}`;
    }
    const t = this.peek();
    if (t && t.t === "num") {
      this.p++;
      return t.v;
    }
    return this.atom();
  }

  /** One token as an argument: `\frac12`, `x^2`, `\sqrt2`. */
  private atom(): string {
    const t = this.peek();
    if (!t) throw new LatexError("missing argument");
    if (t.t === "num") {
      this.p++;
      // In `\frac12` / `x^23` LaTeX takes one digit.
      if (t.v.length > 1 && /^\d+$/.test(t.v)) {
        this.toks.splice(this.p, 0, { t: "num", v: t.v.slice(1) });
        return t.v[0];
      }
      return t.v;
    }
    if (t.t === "op" && t.v === "{") return this.group("{", "}");
    return this.primary();
  }

  private group(open: string, close: string): string {
    this.expectOp(open);
    const e = this.expr();
    this.expectOp(close);
    return `(${e})`;
  }

  private ident(name: string): string {
    let v = name;
    if (this.isOp("_")) {
      this.p++;
      const t = this.peek();
      if (t && t.t === "op" && t.v === "{") {
        this.p++;
        let sub = "";
        while (!this.isOp("}")) {
          const u = this.peek();
          if (!u) throw new LatexError("unclosed subscript");
          if (u.t === "op" && u.v !== "_") {
            if (!/^[a-zA-Z0-9]$/.test(u.v)) throw new LatexError("bad subscript");
          }
          sub += u.v;
          this.p++;
        }
        this.p++;
        v = `${name}_${sub.replace(/[^A-Za-z0-9]/g, "")}`;
      } else if (t && (t.t === "num" || t.t === "id")) {
        this.p++;
        v = `${name}_${t.t === "num" ? t.v[0] : t.v}`;
        if (t.t === "num" && t.v.length > 1) this.toks.splice(this.p, 0, { t: "num", v: t.v.slice(1) });
      } else throw new LatexError("bad subscript");
    }
    this.vars.add(`v_${v}`);
    return `v_${v}`;
  }

  private funcArg(): string {
    if (this.isOp("(")) return this.group("(", ")");
    if (this.isOp("{")) return this.group("{", "}");
    if (this.isOp("[")) return this.group("[", "]");
    // `\sin x`, `\sin 2x` → the following product of atoms up to an operator.
    let out = this.power();
    for (;;) {
      const t = this.peek();
      if (t && (t.t === "num" || t.t === "id")) out = `${out} * ${this.power()}`;
      else return out;
    }
  }

  private primary(): string {
    const t = this.peek();
    if (!t) throw new LatexError("unexpected end");
    if (t.t === "num") {
      this.p++;
      return t.v;
    }
    if (t.t === "id") {
      this.p++;
      if (t.v === "e" && !this.isOp("_")) return "e";
      if (t.v === "i" && !this.isOp("_")) return "i";
      return this.ident(t.v);
    }
    if (t.t === "op") {
      if (t.v === "(") return this.group("(", ")");
      if (t.v === "[") return this.group("[", "]");
      if (t.v === "{") return this.group("{", "}");
      if (t.v === "|") {
        this.p++;
        this.absDepth++;
        const e = this.expr();
        this.absDepth--;
        this.expectOp("|");
        return `abs(${e})`;
      }
      throw new LatexError(`unexpected ${t.v}`);
    }
    // Commands.
    this.p++;
    const c = t.v;
    if (c === "frac" || c === "cfrac") {
      const a = this.atom();
      const b = this.atom();
      return `((${a}) / (${b}))`;
    }
    if (c === "binom" || c === "dbinom" || c === "tbinom") {
      const a = this.atom();
      const b = this.atom();
      return `combinations(${a}, ${b})`;
    }
    if (c === "sqrt") {
      if (this.isOp("[")) {
        const n = this.group("[", "]");
        const x = this.atom();
        return `nthRoot(${x}, ${n})`;
      }
      return `sqrt(${this.atom()})`;
    }
    if (c === "pi") return "pi";
    if (c === "infty" || c === "infinity") return "Infinity";
    if (c === "lfloor" || c === "lceil") {
      const e = this.expr();
      const close = c === "lfloor" ? "rfloor" : "rceil";
      if (!this.isCmd(close)) throw new LatexError(`expected \\${close}`);
      this.p++;
      return `${c === "lfloor" ? "floor" : "ceil"}(${e})`;
    }
    if (c === "{") throw new LatexError("set braces inside an expression");
    if (GREEK.has(c)) return this.ident(c);
    const f = FUNCS[c];
    if (f) {
      if (c === "log" && this.isOp("_")) {
        this.p++;
        const base = this.atom();
        const arg = this.funcArg();
        return `log(${arg}, ${base})`;
      }
      if (this.isOp("^")) {
        // `\sin^2 x` = (sin x)^2; `\sin^{-1} x` = arcsin x.
        this.p++;
        const exp = this.exponent();
        const arg = this.funcArg();
        if (exp.replace(/[()\s]/g, "") === "-1") return `a${f}(${arg})`;
        return `(${f}(${arg}))^(${exp})`;
      }
      return `${f}(${this.funcArg()})`;
    }
    throw new LatexError(`unsupported command \\${c}`);
  }
}

/** Converts LaTeX / plain math to an explicit mathjs expression. Throws LatexError when it cannot. */
export function latexToMathjs(s: string): Converted {
  const toks = tokenize(s);
  if (toks.length === 0) throw new LatexError("empty expression");
  const p = new Parser(toks);
  const expr = p.parseAll();
  return { expr, vars: [...p.vars].sort() };
}
