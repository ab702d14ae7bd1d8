/**
 * Science grading: a multiple-choice letter (ground truth "B") or a numeric answer with relative tolerance
 * (ground truth "6.02e23", "3.0 m/s"); any other ground truth is compared as normalised text.
 */
import type { Verification } from "@m2rl/core";
import { correct, incorrect, unparsable, verificationError } from "../common/status.ts";
import { applyThinkGate, type ThinkGateMode } from "../common/think.ts";
import { extractAnswer } from "../math/extract.ts";
import { canonicalText } from "../math/normalize.ts";
import { parseAnswer } from "../math/parse.ts";
import { ratToNumber } from "../math/rational.ts";
import { DEFAULT_LETTER_OPTIONS, extractLetter, groundTruthLetter, type LetterOptions } from "./extract.ts";
import { SCIENCE_DEFAULTS } from "./schema.ts";

export interface ScienceOptions extends LetterOptions {
  thinkGate: ThinkGateMode;
  /** Relative tolerance for numeric answers. */
  relTolerance: number;
}

/** The science domain's defaults (declared with its options in schema.ts). */
export const DEFAULT_SCIENCE_OPTIONS: ScienceOptions = {
  ...DEFAULT_LETTER_OPTIONS,
  thinkGate: SCIENCE_DEFAULTS.thinkGate,
  relTolerance: SCIENCE_DEFAULTS.relTolerance,
};

/** Float value of a numeric answer, ignoring trailing units ("3.0 m/s" → 3). */
export function numericValue(s: string): number | undefined {
  const v = parseAnswer(s);
  if (v?.kind === "number") return ratToNumber(v.value);
  if (v?.kind === "expr" && v.vars.length === 0) {
    const r = v.real?.({});
    if (r !== undefined && Number.isFinite(r)) return r;
  }
  const m =
    /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\s*(?:\\times|×|\*|x)\s*10\^\{?([-+]?\d+)\}?)?/.exec(
      s,
    );
  if (!m) return undefined;
  const base = Number(m[1]);
  return m[2] !== undefined ? base * 10 ** Number(m[2]) : base;
}

export function verifyScience(
  response: string,
  groundTruth: unknown,
  options: ScienceOptions = DEFAULT_SCIENCE_OPTIONS,
): Verification {
  const gtRaw =
    typeof groundTruth === "number" && Number.isFinite(groundTruth) ? String(groundTruth) : groundTruth;
  if (typeof gtRaw !== "string" || gtRaw.trim() === "") {
    return verificationError("ground truth must be a letter, a number or a non-empty string");
  }
  if (typeof response !== "string") return verificationError("response is not a string");
  const gate = applyThinkGate(response, { mode: options.thinkGate });
  if (!gate.ok) return gate.verification;
  const text = gate.text;

  const letter = groundTruthLetter(gtRaw);
  if (letter) {
    const ex = extractLetter(text, options);
    if (!ex) return unparsable("no choice letter found");
    return ex.letter === letter
      ? correct(ex.letter, `letter via ${ex.by}`)
      : incorrect(ex.letter, `expected ${letter}, got ${ex.letter} (${ex.by})`);
  }

  const target = numericValue(gtRaw);
  const ex = extractAnswer(text);
  if (!ex || ex.answer === "") return unparsable("no final answer found");
  if (target !== undefined) {
    const got = numericValue(ex.answer);
    if (got === undefined) return incorrect(ex.answer, `expected a number near ${target}`);
    // |got - target| <= tol * |target|; an exact zero target needs an exact zero.
    const ok = Math.abs(got - target) <= options.relTolerance * Math.abs(target);
    return ok
      ? correct(ex.answer, `numeric within ${options.relTolerance} (relative)`)
      : incorrect(ex.answer, `expected ${target} ± ${options.relTolerance * 100}%, got ${got}`);
  }
  return canonicalText(ex.answer) === canonicalText(gtRaw)
    ? correct(ex.answer, "text")
    : incorrect(ex.answer, `expected ${JSON.stringify(gtRaw)}`);
}
