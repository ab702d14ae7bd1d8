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
  return boxSpans(text).map((b) => b.content);
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

/** `14{,}916`, `12,\!000` and `14 {, }916` are thousands separators: `14916`, `12000`. */
const LATEX_THOUSANDS = /(\d)\s*(?:\{\s*,\s*\}|,\s*\\!)\s*(?=\d{3}(?!\d))/g;

export function removeLatexThousands(s: string): string {
  return s.includes(",") ? s.replace(LATEX_THOUSANDS, "$1") : s;
}

interface Span {
  content: string;
  start: number;
  end: number;
}

/** Every well-formed box with its position. */
function boxSpans(text: string): Span[] {
  const out: Span[] = [];
  const re = /\\(?:boxed|fbox)(?![A-Za-z])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let k = m.index + m[0].length;
    while (k < text.length && (text[k] === " " || text[k] === "\t")) k++;
    if (text[k] === "{") {
      const end = matchBrace(text, k);
      // Unbalanced (truncated) box: nothing after it can be trusted.
      if (end < 0) break;
      out.push({ content: text.slice(k + 1, end), start: m.index, end: end + 1 });
      re.lastIndex = end + 1;
    } else if (k > m.index + m[0].length) {
      // `\boxed 5`: up to whitespace, `$` or end.
      const w = /^[^\s$]+/.exec(text.slice(k, k + 1000));
      if (w) out.push({ content: w[0], start: m.index, end: k + w[0].length });
      re.lastIndex = k + (w ? w[0].length : 0);
    }
  }
  return out;
}

/** Text between two boxes that only joins them: `, `, ` and `, `\quad`, `$ and $`, ` for part (a) and `. */
function isConnector(sep: string): boolean {
  if (sep.length > 80 || sep.includes("\n\n")) return false;
  const rest = sep
    .replace(/\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}/g, " $1 ")
    .replace(/\\quad|\\qquad|\\[,;:! ]|\\\(|\\\)|\\\[|\\\]|\$|~/g, " ")
    .replace(/\b(?:and|or)\b/gi, " ")
    .replace(/[\s,;.+]/g, "");
  // Words outside `\text{}` ("then", "wait") mark a correction: only the last box counts.
  return (
    rest.length <= 16 &&
    !/[A-Za-z]{2,}/.test(sep.replace(/\\[A-Za-z]+\s*\{[^{}]*\}|\\[A-Za-z]+|\b(?:and|or)\b/gi, ""))
  );
}

/**
 * Text between two boxes of a reference answer: connectors, or a few words naming the first box's quantity before
 * a connector (`\\boxed{1} papers and \\boxed{2} bins`). Words without a connector (`\\boxed{1} no no \\boxed{2}`)
 * do not join.
 */
function isLabel(sep: string): boolean {
  if (isConnector(sep)) return true;
  return sep.length <= 40 && !/[\n=<>]/.test(sep) && /(?:,|\band|\bor)\s*(?:\$\s*)?$/.test(sep);
}

/**
 * The answer in boxes (`labelled`: read as a reference answer, see `isLabel`): the last box, joined with the boxes right before it when only connectors separate them
 * (`\boxed{1}, \boxed{2}` is the list `1, 2`; a repeated identical box counts once).
 */
export function boxedAnswer(text: string, labelled = false): { answer: string; end: number } | undefined {
  const spans = boxSpans(text);
  if (!spans.length) return undefined;
  let first = spans.length - 1;
  const joins = labelled ? isLabel : isConnector;
  while (first > 0 && joins(text.slice(spans[first - 1].end, spans[first].start))) first--;
  const parts: string[] = [];
  for (const sp of spans.slice(first)) {
    const c = sp.content.trim();
    if (!parts.includes(c)) parts.push(c);
  }
  const answer = parts.length === 1 ? parts[0] : parts.join(", ");
  return { answer, end: spans[spans.length - 1].end };
}

/** Math spans `$…$`, `$$…$$`, `\(…\)`, `\[…\]` (inline ones on one line), in order. */
function mathSpans(text: string): Span[] {
  const out: Span[] = [];
  const re =
    /\$\$([\s\S]{1,4000}?)\$\$|(?<!\\)\$((?:[^$\n]|\\\$){1,2000}?)(?<!\\)\$|\\\(([^\n]{1,2000}?)\\\)|\\\[([\s\S]{1,4000}?)\\\]/g;
  for (const m of text.matchAll(re)) {
    const content = (m[1] ?? m[2] ?? m[3] ?? m[4] ?? "").trim();
    if (content) out.push({ content, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

const WORD = /[A-Za-z]{3,}/;

/** Whether a short text reads as one math expression rather than prose (no words outside LaTeX commands). */
export function isMathy(s: string): boolean {
  if (s.length > 300 || s.includes("\n")) return false;
  const t = s
    .replace(/\\(?:text|mathrm|textbf|mbox|operatorname)\s*\{[^{}]*\}/g, " ")
    .replace(/\\[A-Za-z]+/g, " ")
    .replace(/\b(?:and|or|cm|m|km|in|ft)\b/g, " ");
  // A standalone word of two or more letters ("is", "it") is prose; `2xy` is not.
  return !WORD.test(t) && !/(?:^|\s)[A-Za-z]{2,}(?=[\s.,!?]|$)/.test(t) && /[0-9A-Za-z]/.test(t);
}

const TUPLE_OR_NUMBER =
  /[([]\s*-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*[,;]\s*-?(?:\d[\d,]*(?:\.\d+)?|\.\d+))+\s*[)\]]|(?<![A-Za-z_])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*\/\s*\d+)?|-?\.\d+/g;

/** The last tuple `(1, 2)` or number in plain text; digits glued to a letter before them (`AZYUK2A`) are no number. */
function lastTupleOrNumber(text: string): Span | undefined {
  let last: Span | undefined;
  for (const m of text.matchAll(TUPLE_OR_NUMBER))
    last = {
      content: /^[([]/.test(m[0]) ? m[0] : m[0].replace(/\s+/g, ""),
      start: m.index,
      end: m.index + m[0].length,
    };
  return last;
}

/** End of the first sentence of `s` (outside math spans): `.`, `;`, `!`, `?` followed by a space or the end. */
function sentenceEnd(s: string): number {
  const spans = mathSpans(s);
  const re = /[.;!?](?=\s|$)/g;
  for (const m of s.matchAll(re)) {
    if (spans.some((sp) => m.index >= sp.start && m.index < sp.end)) continue;
    return m.index;
  }
  return s.length;
}

/** The answer inside the text that follows an answer phrase. */
function answerInTail(tail: string): string | undefined {
  let s = tail.trim();
  s = s.slice(0, sentenceEnd(s)).trim();
  const boxed = boxedAnswer(s);
  if (boxed) return boxed.answer;
  let span = mathSpans(s)[0];
  if (span && span.start === 0) return span.content;
  // "The largest $n$ is 34" → "34".
  const is = s.toLowerCase().lastIndexOf(" is ");
  if (is >= 0 && !mathSpans(s).some((sp) => is >= sp.start && is < sp.end)) s = s.slice(is + 4).trim();
  span = mathSpans(s)[0];
  if (span && span.start === 0) return span.content;
  const bold = /^\*\*([^*]+)\*\*/.exec(s);
  if (bold) return bold[1].trim();
  const plain = s.replace(/\*\*/g, "").trim();
  if (isMathy(plain)) return plain.replace(/\$/g, "").trim() || undefined;
  if (span) return span.content;
  return lastTupleOrNumber(plain)?.content ?? (plain.replace(/\$+/g, "").trim() || undefined);
}

/** Text after the last "final answer is" / "the answer is" / "Answer:", up to the end of its line. */
export function findAnswerPhrase(text: string): string | undefined {
  return answerPhrase(text)?.answer;
}

function answerPhrase(text: string): { answer: string; start: number } | undefined {
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(PHRASE)) last = m;
  if (!last) return undefined;
  const answer = answerInTail(last[1]);
  return answer === undefined ? undefined : { answer, start: last.index ?? 0 };
}

const NUMBER =
  /(?<![A-Za-z_])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*\/\s*\d+)?|-?\.\d+/g;

/** The last number in the text (integers, decimals, thousands separators, `a/b`). */
export function findLastNumber(text: string): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(NUMBER)) last = m[0];
  return last?.replace(/\s+/g, "");
}

/**
 * The last expression: the whole text when it is one short expression (`\frac{10}{9}`, `3x + 4y = 1`), else the
 * latest of the last math span, the last bold `**…**` answer and the last plain tuple or number outside spans.
 */
export function findLastExpression(text: string): string | undefined {
  const whole = text.trim();
  if (whole && isMathy(whole) && !/\$\s*[^$]*\$[^$]*\$/.test(whole)) {
    const w = whole
      .replace(/^\$+|\$+$/g, "")
      .replace(/^\\\(|\\\)$|^\\\[|\\\]$/g, "")
      .trim();
    if (w) return w;
  }
  const spans = mathSpans(text);
  let best: Span | undefined = spans[spans.length - 1];
  for (const m of text.matchAll(/\*\*([^*\n]{1,200})\*\*/g)) {
    if (!/[\d$\\]/.test(m[1])) continue;
    const c = m[1].replace(/\$/g, "").trim();
    if (!best || m.index >= best.end) best = { content: c, start: m.index, end: m.index + m[0].length };
  }
  // Plain numbers outside math spans.
  let plain = text;
  for (const sp of spans)
    plain = plain.slice(0, sp.start) + " ".repeat(sp.end - sp.start) + plain.slice(sp.end);
  const n = lastTupleOrNumber(plain);
  if (n && (!best || n.start >= best.end)) best = n;
  return best?.content;
}
export function extractAnswer(
  text: string,
  order: readonly MathExtractor[] = DEFAULT_EXTRACTION,
): Extraction | undefined {
  text = removeLatexThousands(text);
  for (let k = 0; k < order.length; k++) {
    const by = order[k];
    let answer: string | undefined;
    if (by === "boxed") {
      const boxed = boxedAnswer(text);
      // An answer phrase after the last box ("\boxed{255} … The final answer is $10,455$") is the answer.
      if (boxed && order.indexOf("answer_phrase") > k) {
        const phrase = answerPhrase(text);
        if (phrase && phrase.start >= boxed.end) return { answer: phrase.answer.trim(), by: "answer_phrase" };
      }
      answer = boxed?.answer;
      // An empty box is an answer that says nothing: stop here rather than fall back to a stray number.
      if (answer !== undefined && answer.trim() === "") return { answer: "", by };
    } else if (by === "answer_phrase") {
      answer = answerPhrase(text)?.answer;
    } else {
      answer = findLastExpression(text);
    }
    if (answer !== undefined && answer.trim() !== "") return { answer: answer.trim(), by };
  }
  return undefined;
}
