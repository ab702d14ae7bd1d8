/**
 * Grading one math response: think gate → extraction → parse (cached) → equivalence.
 */
import type { Verification } from "@m2rl/core";
import { correct, guarded, incorrect, unparsable, verificationError } from "../common/status.ts";
import { applyThinkGate, type ThinkGateMode } from "../common/think.ts";
import { DEFAULT_EQUIV, type EquivOptions, equivalent } from "./equiv.ts";
import {
  boxedAnswer,
  DEFAULT_EXTRACTION,
  extractAnswer,
  isMathy,
  type MathExtractor,
  removeLatexThousands,
} from "./extract.ts";
import { stripNoise } from "./normalize.ts";
import { type MathValue, parseAnswer } from "./parse.ts";
import { MATH_DEFAULTS } from "./schema.ts";

export interface MathVerifyOptions extends EquivOptions {
  thinkGate: ThinkGateMode;
  extraction: readonly MathExtractor[];
}

export const DEFAULT_MATH_OPTIONS: MathVerifyOptions = {
  ...DEFAULT_EQUIV,
  thinkGate: MATH_DEFAULTS.thinkGate,
  extraction: DEFAULT_EXTRACTION,
};

/** Bounded parse cache (ground truths repeat G times per group; short answers repeat often). */
const CACHE_MAX = 4096;
const cache = new Map<string, MathValue | null>();

export function parseCached(s: string): MathValue | undefined {
  const hit = cache.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const v = parseAnswer(s);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(s, v ?? null);
  return v;
}

/** Whether two answer strings are equivalent (both are parsed as final answers, no extraction). */
export function mathEqual(gold: string, pred: string, options: EquivOptions = DEFAULT_EQUIV): boolean {
  const g = parseCached(gold);
  const p = parseCached(pred);
  return g !== undefined && p !== undefined && equivalent(g, p, options);
}

function goldStrings(groundTruth: unknown): string[] | undefined {
  const list = Array.isArray(groundTruth) ? groundTruth : [groundTruth];
  const out: string[] = [];
  for (const g of list) {
    if (typeof g === "number" && Number.isFinite(g)) out.push(String(g));
    else if (typeof g === "string" && g.trim() !== "") out.push(goldAnswer(g));
    else return undefined;
  }
  return out.length ? out : undefined;
}

/**
 * The answer in a ground truth. A plain answer (`10/9`, `$[0,1)$`) is used whole; one written as a solution is read
 * like a response (boxes, answer phrase, last expression), falling back to the whole string.
 */
export function goldAnswer(g: string): string {
  const hit = goldCache.get(g);
  if (hit !== undefined) return hit;
  const a = readGold(g);
  if (goldCache.size >= CACHE_MAX) goldCache.clear();
  goldCache.set(g, a);
  return a;
}

const goldCache = new Map<string, string>();

function readGold(g: string): string {
  const t = removeLatexThousands(g.trim());
  const boxed = boxedAnswer(t, true);
  if (boxed) return boxed.answer;
  if (isMathy(t)) return t;
  return extractAnswer(t)?.answer || t;
}

/**
 * Grades one response. The status is always one of: `correct`; `incorrect` (an answer was extracted and matches no
 * ground truth, neither as math nor as text — an answer that does not parse as math is compared as text);
 * `unparsable` (no answer in the response: none found, an empty `\\boxed{}`, or only spacing and delimiters such as
 * `\\boxed{\\quad}`, or an unfinished think block); `error` (a bad ground truth, or the verifier itself failed).
 * Math grading has no time limit of its own, so it never reports `timeout`.
 */
export function verifyMath(
  response: string,
  groundTruth: unknown,
  options: MathVerifyOptions = DEFAULT_MATH_OPTIONS,
): Verification {
  return guarded(() => grade(response, groundTruth, options));
}

function grade(response: string, groundTruth: unknown, options: MathVerifyOptions): Verification {
  const golds = goldStrings(groundTruth);
  if (!golds)
    return verificationError("ground truth must be a non-empty string, a number, or a list of them");
  if (typeof response !== "string") return verificationError("response is not a string");
  const gate = applyThinkGate(response, { mode: options.thinkGate });
  if (!gate.ok) return gate.verification;
  const ex = extractAnswer(gate.text, options.extraction);
  if (!ex) return unparsable(`no final answer found (tried ${options.extraction.join(", ")})`);
  if (ex.answer === "") return unparsable("empty \\boxed{}", "");
  const pred = parseCached(ex.answer);
  // Only spacing, delimiters or an empty `\\text{}` (`\\boxed{\\quad}`): no answer, like an empty box.
  if (!pred) return unparsable("no answer: the extracted text is empty after normalisation", ex.answer);
  for (const gs of golds) {
    // Identical strings are equivalent (fast path; the parse above already rejected an empty answer).
    if (gs.trim() === ex.answer) return correct(ex.answer, `identical via ${ex.by}`);
    const gold = parseCached(gs);
    if (!gold) return verificationError(`ground truth ${JSON.stringify(gs)} is empty after normalisation`);
    if (equivalent(gold, pred, options)) return correct(ex.answer, `${pred.kind} via ${ex.by}`);
    if (sameText(gs, ex.answer)) return correct(ex.answer, `identical via ${ex.by}`);
  }
  return incorrect(ex.answer, `expected ${golds.map((g) => JSON.stringify(g)).join(" or ")} (${ex.by})`);
}

/** Identical after presentation noise is removed (`$n=1, 2, 3$` and `n=1, 2, 3`). */
function sameText(a: string, b: string): boolean {
  const x = stripNoise(a).replace(/\s+/g, "");
  return x !== "" && x === stripNoise(b).replace(/\s+/g, "");
}
