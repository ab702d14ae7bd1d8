/**
 * Builders for `Verification` values, so that every verifier states why a reward is what it is
 * (a reward is never a silent 0: a zero reward always comes with a status and a detail saying why).
 */
import type { Verification } from "@m2rl/core";

export function correct(extracted?: string, detail?: string): Verification {
  return withOptional({ reward: 1, status: "correct" }, extracted, detail);
}

/** A graded answer that is wrong. `reward` may be partial (e.g. a fraction of instructions followed). */
export function incorrect(extracted?: string, detail?: string, reward = 0): Verification {
  return withOptional({ reward: clamp01(reward), status: "incorrect" }, extracted, detail);
}

/** No answer could be found in the response (no `</think>`, no boxed answer, no letter, ...). */
export function unparsable(detail: string, extracted?: string): Verification {
  return withOptional({ reward: 0, status: "unparsable" }, extracted, detail);
}

/** The verifier itself failed (bad ground truth, unknown instruction id). Never a pass. */
export function verificationError(detail: string, extracted?: string): Verification {
  return withOptional({ reward: 0, status: "error" }, extracted, detail);
}

export function clamp01(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.min(Math.max(x, 0), 1);
}

function withOptional(v: Verification, extracted?: string, detail?: string): Verification {
  if (extracted !== undefined) v.extracted = extracted;
  if (detail !== undefined) v.detail = detail;
  return v;
}

/** Runs `fn`, turning a thrown exception into an `error` verification (verify must never throw). */
export function guarded(fn: () => Verification): Verification {
  try {
    return fn();
  } catch (e) {
    return verificationError(`verifier failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
