/**
 * Final-answer extraction from a (post-`</think>`) response. Order of the extractors is configurable; the first
 * that finds something wins. Conventions follow the verl / DeepScaleR graders (last `\boxed{}` wins, nested
 * braces balanced, `\fbox` accepted, `\boxed 5` without braces accepted) and Math-Verify (answer phrases).
 */
export type MathExtractor = "boxed" | "answer_phrase" | "last_number";

export const MATH_EXTRACTORS: readonly MathExtractor[] = ["boxed", "answer_phrase", "last_number"];
export const DEFAULT_EXTRACTION: readonly MathExtractor[] = ["boxed", "answer_phrase", "last_number"];

export interface Extraction {
  answer: string;
  by: MathExtractor;
}

/** Contents of every well-formed `\boxed{...}` / `\fbox{...}` / `\boxed x` in order of appearance. Linear time. */
export function findBoxed(text: string): string[] {
  const out: string[] = [];
  const re = /\\(?:boxed|fbox)(?![A-Za-z])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let k = m.index + m[0].length;
    while (k < text.length && (text[k] === " " || text[k] === "\t")) k++;
    if (text[k] === "{") {
      const end = matchBrace(text, k);
      // Unbalanced (truncated) box: nothing after it can be trusted.
      if (end < 0) break;
      out.push(text.slice(k + 1, end));
      re.lastIndex = end + 1;
    } else if (k > m.index + m[0].length) {
      // `\boxed 5`: up to whitespace, `$` or end.
      const w = /^[^\s$]+/.exec(text.slice(k, k + 1000));
      if (w) out.push(w[0]);
      re.lastIndex = k + (w ? w[0].length : 0);
    }
  }
  return out;
}

/** Index of the `}` closing the `{` at `open`, skipping escaped braces; -1 when unbalanced. */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "{") depth++;
    else if (ch === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

const PHRASE = /(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*([^\n]+)/gi;

/** Text after the last "final answer is" / "the answer is" / "Answer:", up to the end of its line. */
export function findAnswerPhrase(text: string): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(PHRASE)) last = m[1];
  if (last === undefined) return undefined;
  let s = last.trim();
  // A math span right after the phrase is the answer: "is $\frac12$, which ..." → "\frac12".
  const span = /^\$\$?([^$]+)\$/.exec(s) ?? /^\\\((.+?)\\\)/.exec(s) ?? /^\\\[(.+?)\\\]/.exec(s);
  if (span) return span[1].trim() || undefined;
  // Else the answer ends at the first sentence break: "5. But let me check: 5+1=6" → "5" (decimals keep their point).
  const stop = /[.;!?](?:\s|$)/.exec(s);
  if (stop) s = s.slice(0, stop.index);
  s = s.replace(/\$+/g, "").trim();
  return s.length ? s : undefined;
}

const NUMBER = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*\/\s*\d+)?|-?\.\d+/g;

/** The last number in the text (integers, decimals, thousands separators, `a/b`). */
export function findLastNumber(text: string): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(NUMBER)) last = m[0];
  return last?.replace(/\s+/g, "");
}

export function extractAnswer(
  text: string,
  order: readonly MathExtractor[] = DEFAULT_EXTRACTION,
): Extraction | undefined {
  for (const by of order) {
    let answer: string | undefined;
    if (by === "boxed") {
      const all = findBoxed(text);
      answer = all.length ? all[all.length - 1] : undefined;
      // An empty box is an answer that says nothing: stop here rather than fall back to a stray number.
      if (answer !== undefined && answer.trim() === "") return { answer: "", by };
    } else if (by === "answer_phrase") {
      answer = findAnswerPhrase(text);
      if (answer !== undefined) {
        const inner = findBoxed(answer);
        if (inner.length) answer = inner[inner.length - 1];
      }
    } else {
      answer = findLastNumber(text);
    }
    if (answer !== undefined && answer.trim() !== "") return { answer: answer.trim(), by };
  }
  return undefined;
}
