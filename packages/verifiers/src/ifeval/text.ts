/**
 * Text measures of IFEval, re-implemented without NLTK:
 * - words: NLTK `RegexpTokenizer(r"\w+")` → runs of Unicode letters, numbers and `_` (Python's `\w`).
 * - sentences: NLTK Punkt (english.pickle) approximated by splitting after `.`, `!`, `?` (plus closing quotes /
 *   brackets) followed by whitespace, except after a known abbreviation, a single-letter initial, or a number
 *   followed by a lowercase continuation. Differences from Punkt are listed in the README's conformance table.
 * - word_tokenize (for capital-word counts): NLTK Treebank approximated: words with inner `.'-`, punctuation as
 *   separate tokens, English contractions split (`DON'T` → `DO`, `N'T`).
 * - str.isupper / str.islower with Python's semantics (at least one cased character).
 */

const WORD = /[\p{L}\p{N}_]+/gu;

export function countWords(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(WORD)) n++;
  return n;
}

/** Lowercased abbreviations (without the final period) that do not end a sentence. */
const ABBREVIATIONS = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "vs",
  "etc",
  "e.g",
  "i.e",
  "u.s",
  "u.k",
  "inc",
  "ltd",
  "co",
  "corp",
  "no",
  "fig",
  "approx",
  "dept",
  "est",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
  "mt",
  "a.m",
  "p.m",
  "gen",
  "gov",
  "sen",
  "rep",
  "vol",
  "cf",
  "al",
]);

export function splitSentences(text: string): string[] {
  const out: string[] = [];
  // Starts only at the beginning of a punctuation run (linear time on long runs of dots).
  const re = /(?<![.!?])[.!?]+["'”’)\]]*(?=\s+(\S))/g;
  let start = 0;
  for (const m of text.matchAll(re)) {
    const end = (m.index ?? 0) + m[0].length;
    const punct = m[0];
    const next = m[1] ?? "";
    if (punct.startsWith(".") && !punct.startsWith("..")) {
      const at = m.index ?? 0;
      const before = /([\p{L}\p{N}.]+)$/u.exec(text.slice(Math.max(start, at - 40), at))?.[1] ?? "";
      const word = before.toLowerCase();
      if (ABBREVIATIONS.has(word)) continue;
      if (/^\p{L}$/u.test(before) && /\p{Lu}/u.test(before)) continue; // initial "J. Smith"
      if (/^\p{Ll}/u.test(next) && /^\d+$/.test(before)) continue; // "No. 5 is" / "3. item"
    } else if (punct.startsWith("..") && /^\p{Ll}/u.test(next)) {
      continue; // ellipsis inside a sentence
    }
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

export function countSentences(text: string): number {
  return splitSentences(text).length;
}

const TOKEN = /[\p{L}\p{N}_]+(?:[.'’-][\p{L}\p{N}_]+)*\.?|[^\s\p{L}\p{N}_]/gu;
const CONTRACTION = /^(.+?)(n't|'s|'re|'ll|'ve|'m|'d)$/i;

/** NLTK word_tokenize approximation. */
export function wordTokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0].replace(/’/g, "'");
    // A trailing period is kept only on abbreviation-like tokens ("U.S."); else it is its own token.
    if (t.length > 1 && t.endsWith(".") && !/\./.test(t.slice(0, -1))) {
      out.push(...splitContraction(t.slice(0, -1)), ".");
      continue;
    }
    out.push(...splitContraction(t));
  }
  return out;
}

function splitContraction(t: string): string[] {
  const c = CONTRACTION.exec(t);
  return c ? [c[1], c[2]] : [t];
}

/** Python str.isupper(). */
export function isUpper(s: string): boolean {
  return /\p{Lu}/u.test(s) && !/[\p{Ll}\p{Lt}]/u.test(s);
}

/** Python str.islower(). */
export function isLower(s: string): boolean {
  return /\p{Ll}/u.test(s) && !/[\p{Lu}\p{Lt}]/u.test(s);
}

/** Python `s.strip(chars)` for a set of characters (default whitespace). */
export function pyStrip(s: string, chars?: string): string {
  if (chars === undefined) return s.trim();
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
