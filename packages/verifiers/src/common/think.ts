/**
 * The paper's `</think>` gate: reasoning is stripped before grading, and only the text after the (last) closing
 * tag is graded. With mode `required` a response without the tag gets reward 0 and status `unparsable`.
 * With `optional`, a response without any think tags is graded whole, but one that opened `<think>` and never
 * closed it (reasoning cut off) is still unparsable, so that a `\boxed{}` inside unfinished reasoning never counts.
 */
import type { Verification } from "@m2rl/core";
import { unparsable } from "./status.ts";

export type ThinkGateMode = "required" | "optional" | "off";

export interface ThinkGateOptions {
  mode: ThinkGateMode;
  /** Opening tag, default `<think>`. */
  openTag?: string;
  /** Closing tag, default `</think>`. */
  closeTag?: string;
}

export type ThinkGateResult = { ok: true; text: string } | { ok: false; verification: Verification };

export const THINK_GATE_SCHEMA = {
  type: "string",
  enum: ["required", "optional", "off"],
  description:
    "`required` (paper): no `</think>` → reward 0, status unparsable; `optional`: grade the text after `</think>` " +
    "when present, the whole response when no think tag appears; `off`: grade the whole response.",
} as const;

export function applyThinkGate(response: string, options: ThinkGateOptions): ThinkGateResult {
  if (options.mode === "off") return { ok: true, text: response };
  const close = options.closeTag ?? "</think>";
  const open = options.openTag ?? "<think>";
  const at = response.lastIndexOf(close);
  if (at >= 0) return { ok: true, text: response.slice(at + close.length) };
  if (options.mode === "required") {
    return { ok: false, verification: unparsable(`no ${close} in response (think gate: required)`) };
  }
  if (response.includes(open)) {
    return { ok: false, verification: unparsable(`${open} opened but never closed (reasoning cut off)`) };
  }
  return { ok: true, text: response };
}
