import { removeLatexThousands } from "./extract.ts";

/**
 * Removes the presentation noise of a LaTeX answer: math delimiters, spacing commands, `\left`/`\right`,
 * `\text{}`/`\mathrm{}` wrappers, degree signs, dollar signs, trailing periods; maps unicode math symbols to LaTeX.
 * The result is still LaTeX-ish text that parse.ts reads.
 */

const WRAPPERS = [
  "\\text",
  "\\textnormal",
  "\\textbf",
  "\\textit",
  "\\mathrm",
  "\\mathbf",
  "\\mathit",
  "\\mbox",
  "\\operatorname",
  "\\mathnormal",
  "\\textrm",
  "\\boldsymbol",
];

/** Replaces `\cmd{X}` by `X` (balanced braces). */
export function unwrap(s: string, commands: readonly string[] = WRAPPERS): string {
  if (!s.includes("{")) return s;
  for (const cmd of commands) {
    let at = s.indexOf(cmd + "{");
    let guard = 0;
    while (at >= 0 && guard++ < 1000) {
      const open = at + cmd.length;
      let depth = 0;
      let end = -1;
      for (let i = open; i < s.length; i++) {
        if (s[i] === "\\") {
          i++;
          continue;
        }
        if (s[i] === "{") depth++;
        else if (s[i] === "}" && --depth === 0) {
          end = i;
          break;
        }
      }
      if (end < 0) break;
      s = s.slice(0, at) + s.slice(open + 1, end) + s.slice(end + 1);
      at = s.indexOf(cmd + "{", at);
    }
  }
  return s;
}

const UNICODE: [RegExp, string][] = [
  [/\u2212|\u2013|\u2014/g, "-"],
  [/\u00d7/g, "\\times "],
  [/\u00f7/g, "\\div "],
  [/\u00b7|\u22c5/g, "\\cdot "],
  [/\u221a/g, "\\sqrt"],
  [/\u03c0/g, "\\pi "],
  [/\u221e/g, "\\infty "],
  [/\u2264/g, "\\le "],
  [/\u2265/g, "\\ge "],
  [/\u222a/g, "\\cup "],
  [/\u00b0/g, ""],
];

const NON_ASCII = /[^ -~\t\n\r]/;
const DOLLARS = /^\$+|\$+$/g;
const DELIMS = /^\\\(|\\\)$|^\\\[|\\\]$/g;
const DISPLAY = /\\displaystyle|\\limits/g;
const LEFT_RIGHT_DOT = /\\left\s*\\?\.|\\right\s*\\?\./g;
const SIZING = /\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)\b/g;
const VERT = /\\[lr]?vert\b/g;
const DFRAC = /\\[dt]frac/g;
const DEGREES = /\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree/g;
const SPACING = /\\\\|\\[!,;: ]|~|\\quad|\\qquad/g;
const ESCAPED_DOLLAR = /\\\$|\$/g;
const LE = /\\(?:le|leq|leqslant)\b/g;
const GE = /\\(?:ge|geq|geqslant)\b/g;
const NE = /\\neq?\b/g;
const IN_PREFIX = /^[A-Za-z]\s*\\in\s*/;
const SPACES = /\s+/g;
const TRAILING_DOTS = /[.。]+$/;

/** `\\frac` written with a doubled backslash (a JSON or raw-string slip) is `\frac`; `\\` before a space stays a row break. */
const DOUBLED_BACKSLASH =
  /(?<!\\)\\\\(?=(?:left|right|frac|dfrac|tfrac|sqrt|boxed|text|pi|infty|cdot|times|le|ge|leq|geq|lt|gt|in|cup|pm)(?![A-Za-z]))/g;
const RELATION_SPELLINGS: [RegExp, string][] = [
  [/\\lt(?![A-Za-z])/g, "<"],
  [/\\gt(?![A-Za-z])/g, ">"],
  [/<=/g, "\\le "],
  [/>=/g, "\\ge "],
  [/!=/g, "\\ne "],
];

export function stripNoise(raw: string): string {
  let s = removeLatexThousands(raw.trim());
  if (s.includes("\\\\") && !s.includes("\\begin")) s = s.replace(DOUBLED_BACKSLASH, "\\");
  if (/[<>!]=|\\lt|\\gt/.test(s)) for (const [re, to] of RELATION_SPELLINGS) s = s.replace(re, to);
  if (s.includes("\\approx")) s = dropApproximations(s);
  if (NON_ASCII.test(s)) for (const [re, to] of UNICODE) s = s.replace(re, to);
  if (s.includes("$")) s = s.replace(DOLLARS, "");
  const hasBackslash = s.includes("\\");
  if (hasBackslash) {
    s = s.replace(DELIMS, "");
    s = s.replace(DISPLAY, "");
    s = s.replace(LEFT_RIGHT_DOT, "");
    s = s.replace(SIZING, "");
    if (s.includes("vert")) s = s.replace(VERT, "|");
    s = s.replace(DFRAC, "\\frac");
  }
  if (s.includes("circ") || s.includes("degree")) s = s.replace(DEGREES, "");
  if (hasBackslash || s.includes("~")) s = s.replace(SPACING, (m) => (m === "\\\\" ? m : " "));
  if (s.includes("$")) s = s.replace(ESCAPED_DOLLAR, "");
  if (hasBackslash) {
    s = unwrap(s);
    s = s.replace(LE, "\\le ").replace(GE, "\\ge ");
    s = s.replace(NE, "\\ne ");
    // "x \in [1, 2]" → "[1, 2]".
    s = s.replace(IN_PREFIX, "");
  }
  s = s.replace(SPACES, " ").trim();
  if (s.endsWith(".") || s.endsWith("。")) s = s.replace(TRAILING_DOTS, "").trim();
  // Outer braces around the whole answer: "{5}" → "5" (but not "\{1,2\}").
  while (s.startsWith("{") && s.endsWith("}") && matchesWhole(s)) s = s.slice(1, -1).trim();
  return s;
}

/**
 * `\\approx`: after a value (`\\frac{70}{9} \\approx 7.78`, `x = 1/3 \\approx 0.33`) the approximation is dropped and the
 * exact value kept; after a name (`x \\approx 1.2`) it reads as `=`; at the start of an item it is removed. An item
 * ends at `,` or `;`.
 */
function dropApproximations(s: string): string {
  return s.replace(/\\approx(?![A-Za-z])([^,;]*)/g, (_m, tail: string, at: number) => {
    const start = Math.max(s.lastIndexOf(",", at), s.lastIndexOf(";", at)) + 1;
    const before = s.slice(start, at).trim();
    if (before === "") return tail;
    return /[=\d]/.test(before) ? "" : `=${tail}`;
  });
}

function matchesWhole(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") {
      i++;
      continue;
    }
    if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth === 0) return i === s.length - 1;
  }
  return false;
}

/** A canonical string for the text fallback: lowercase, no spaces, no LaTeX escapes of braces. */
export function canonicalText(s: string): string {
  return s
    .toLowerCase()
    .replace(/\\text\s*/g, "")
    .replace(/[\s{}]/g, "")
    .replace(/\\/g, "")
    .replace(/[.]+$/, "");
}

/** Unit words that may trail a number ("5 cm", "12 dollars", "3 units"); stripped only after a number. */
export const UNIT_WORDS =
  /^(?:[a-z]+\^?[23]?|sq(?:uare)? ?[a-z]+|cubic ?[a-z]+|degrees?|dollars?|cents?|percent|units?(?: squared)?)$/i;
