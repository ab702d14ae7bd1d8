/**
 * IFEval grading of one response against `{instruction_id_list, kwargs}` in strict or loose mode.
 * Loose mode follows the original: an instruction passes when any of 8 variants of the response passes
 * (as is, without `*`, without its first line, without its last line, without both, and those three without `*`).
 */
import type { Verification } from "@m2rl/core";
import { correct, incorrect, unparsable, verificationError } from "../common/status.ts";
import { applyThinkGate, type ThinkGateMode } from "../common/think.ts";
import { type CheckContext, INSTRUCTIONS, validateKwargs } from "./instructions.ts";
import { DEFAULT_DETECT, type DetectOptions } from "./language.ts";
import { IFEVAL_DEFAULTS } from "./schema.ts";

export interface IfevalGroundTruth {
  instruction_id_list: string[];
  kwargs?: (Record<string, unknown> | null)[];
  /** The prompt (IFEval rows carry it; not needed for grading). */
  prompt?: string;
}

export type IfevalMode = "strict" | "loose";

export interface IfevalOptions {
  mode: IfevalMode;
  /** `all`: 1 when every instruction passes (prompt-level, the paper); `fraction`: share of instructions passed. */
  reward: "all" | "fraction";
  thinkGate: ThinkGateMode;
  detect: DetectOptions;
}

/** The ifeval domain's defaults (declared with its options in schema.ts). */
export const DEFAULT_IFEVAL_OPTIONS: IfevalOptions = {
  mode: IFEVAL_DEFAULTS.mode,
  reward: IFEVAL_DEFAULTS.reward,
  thinkGate: IFEVAL_DEFAULTS.thinkGate,
  detect: { ...DEFAULT_DETECT },
};

export interface InstructionResult {
  id: string;
  followed: boolean;
}

/** Checks and normalises a ground truth; returns an error message when it is unusable. */
export function parseIfevalGroundTruth(
  gt: unknown,
): { ok: true; value: { ids: string[]; kwargs: Record<string, unknown>[] } } | { ok: false; error: string } {
  let g = gt;
  if (typeof g === "string") {
    try {
      g = JSON.parse(g);
    } catch {
      return { ok: false, error: "ground truth is a string but not JSON" };
    }
  }
  if (!g || typeof g !== "object" || Array.isArray(g))
    return { ok: false, error: "ground truth must be an object" };
  const o = g as Record<string, unknown>;
  const ids = o.instruction_id_list;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => typeof x === "string")) {
    return { ok: false, error: "instruction_id_list must be a non-empty list of strings" };
  }
  const rawKw = o.kwargs ?? ids.map(() => ({}));
  if (!Array.isArray(rawKw) || rawKw.length !== ids.length) {
    return { ok: false, error: `kwargs must be a list with one entry per instruction (${ids.length})` };
  }
  const kwargs: Record<string, unknown>[] = [];
  for (let i = 0; i < ids.length; i++) {
    const def = INSTRUCTIONS.get(ids[i] as string);
    if (!def) return { ok: false, error: `unknown instruction id "${ids[i]}"` };
    const k = rawKw[i] ?? {};
    if (typeof k !== "object" || Array.isArray(k))
      return { ok: false, error: `kwargs[${i}] must be an object` };
    // Null-valued keys mean "not set" (the Hugging Face copy of IFEval lists every kwarg with nulls).
    const clean: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(k as Record<string, unknown>))
      if (v !== null && v !== undefined) clean[key] = v;
    const msg = validateKwargs(def, clean);
    if (msg) return { ok: false, error: msg };
    kwargs.push(clean);
  }
  return { ok: true, value: { ids: ids as string[], kwargs } };
}

/** The 8 response variants of the loose mode, in the original's order. */
export function looseVariants(response: string): string[] {
  const r = response.split("\n");
  const removeFirst = r.slice(1).join("\n").trim();
  const removeLast = r.slice(0, -1).join("\n").trim();
  const removeBoth = r.slice(1, -1).join("\n").trim();
  const star = (s: string) => s.replace(/\*/g, "");
  return [
    response,
    star(response),
    removeFirst,
    removeLast,
    removeBoth,
    star(removeFirst),
    star(removeLast),
    star(removeBoth),
  ];
}

/** Per-instruction results; throws only for an invalid ground truth (use parseIfevalGroundTruth first). */
export function checkInstructions(
  response: string,
  gt: { ids: string[]; kwargs: Record<string, unknown>[] },
  mode: IfevalMode,
  detect: DetectOptions,
): InstructionResult[] {
  const ctx: CheckContext = { detect };
  const variants = mode === "loose" ? looseVariants(response) : [response];
  return gt.ids.map((id, i) => {
    const def = INSTRUCTIONS.get(id)!;
    const followed = variants.some((v) => v.trim() !== "" && def.check(v, gt.kwargs[i], ctx));
    return { id, followed };
  });
}

export function verifyIfeval(
  response: string,
  groundTruth: unknown,
  options: IfevalOptions = DEFAULT_IFEVAL_OPTIONS,
): Verification {
  const gt = parseIfevalGroundTruth(groundTruth);
  if (!gt.ok) return verificationError(gt.error);
  if (typeof response !== "string") return verificationError("response is not a string");
  const gate = applyThinkGate(response, { mode: options.thinkGate });
  if (!gate.ok) return gate.verification;
  const text = gate.text;
  if (!text.trim()) return unparsable("empty response");
  const results = checkInstructions(text, gt.value, options.mode, options.detect);
  const passed = results.filter((r) => r.followed).length;
  const failed = results.filter((r) => !r.followed).map((r) => r.id);
  const detail = failed.length
    ? `${options.mode}: ${passed}/${results.length} followed; not followed: ${failed.join(", ")}`
    : `${options.mode}: all ${results.length} followed`;
  if (failed.length === 0) return correct(undefined, detail);
  const reward = options.reward === "fraction" ? passed / results.length : 0;
  return incorrect(undefined, detail, reward);
}
