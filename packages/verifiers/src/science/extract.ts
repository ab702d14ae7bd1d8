/**
 * Multiple-choice letter extraction, in order of trust:
 * 1. the last `\boxed{B}` (also `\boxed{(B)}`, `\boxed{\text{B}}`, `\boxed{B) text}`);
 * 2. the last answer phrase: "Answer: B", "answer is (B)", "correct option is B", "final answer: **B**";
 * 3. heuristics (configurable): a last line that is only a letter ("B", "(B).", "**B**"), then the last
 *    parenthesised letter "(B)" in the text, then a letter alone at the very end ("... so B.").
 * Only letters within the allowed choices (A.. up to `maxChoices`) are accepted.
 */
import { findBoxed } from "../math/extract.ts";
import { SCIENCE_DEFAULTS } from "./schema.ts";

export type LetterSource = "boxed" | "answer_phrase" | "last_line" | "parenthesised" | "trailing";

export interface LetterExtraction {
  letter: string;
  by: LetterSource;
}

export interface LetterOptions {
  /** Number of choices: letters A.. (A-J for 10). */
  maxChoices: number;
  /** Use the heuristics of step 3. */
  heuristics: boolean;
}

/** The science domain's defaults (declared with its options in schema.ts). */
export const DEFAULT_LETTER_OPTIONS: LetterOptions = {
  maxChoices: SCIENCE_DEFAULTS.maxChoices,
  heuristics: SCIENCE_DEFAULTS.heuristics,
};

function letterRange(max: number): string {
  return `A-${String.fromCharCode(64 + Math.max(1, Math.min(26, max)))}`;
}

function boxedLetter(content: string, range: string): string | undefined {
  const s = content
    .replace(/\\text(?:bf)?\s*\{([^}]*)\}/g, "$1")
    .replace(/\\mathrm\s*\{([^}]*)\}/g, "$1")
    .trim();
  const m = new RegExp(`^\\(?([${range}])\\)?(?:[.):]|\\s|$)`).exec(s);
  return m?.[1];
}

export function extractLetter(
  text: string,
  o: LetterOptions = DEFAULT_LETTER_OPTIONS,
): LetterExtraction | undefined {
  const range = letterRange(o.maxChoices);
  const boxes = findBoxed(text);
  if (boxes.length) {
    // The last box decides (a boxed number is not a letter; then the phrases below get their chance).
    const l = boxedLetter(boxes[boxes.length - 1], range);
    if (l) return { letter: l, by: "boxed" };
  }
  // Bounded gaps keep this linear (no catastrophic backtracking on long whitespace runs).
  const phrase = new RegExp(
    `(?:answer|option|choice)(?:\\s{1,3}is)?[\\s:*_\\-\\(\\[]{0,12}(?:(?:option|choice)\\s{1,3}[\\(\\[]?)?([${range}])(?![A-Za-z])`,
    "gi",
  );
  let last: string | undefined;
  for (const m of text.matchAll(phrase)) {
    // Case-insensitive phrase, but the letter must be a capital ("answer is a cat" is not A).
    if (/[A-Z]/.test(m[1])) last = m[1];
  }
  if (last) return { letter: last, by: "answer_phrase" };
  if (!o.heuristics) return undefined;
  const lines = text.trim().split(/\n/);
  const lastLine = lines[lines.length - 1]?.trim() ?? "";
  const ll = new RegExp(`^[*_\\s]*[\\(\\[]?([${range}])[\\)\\]]?[.:]?[*_\\s]*$`).exec(lastLine);
  if (ll) return { letter: ll[1], by: "last_line" };
  const par = [...text.matchAll(new RegExp(`\\(([${range}])\\)`, "g"))];
  if (par.length) return { letter: par[par.length - 1][1], by: "parenthesised" };
  const tr = new RegExp(`(?:^|[\\s:])([${range}])[.!]?\\s*$`).exec(text.trim());
  if (tr) return { letter: tr[1], by: "trailing" };
  return undefined;
}

/** Normalises a ground-truth letter: "B", "(B)", "b", "B." → "B"; undefined when it is not a letter. */
export function groundTruthLetter(gt: string): string | undefined {
  const m = /^\s*[([]?([A-Za-z])[)\]]?\.?\s*$/.exec(gt);
  return m ? m[1].toUpperCase() : undefined;
}
