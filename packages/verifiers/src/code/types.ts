import type { Language } from "../sandbox/languages.ts";

/** One stdin/stdout test: the program reads `input` on stdin and must print `output`. */
export interface StdioTest {
  input: string;
  output: string;
}

/** One function-call test: `fn_name(...args)` must return a value JSON-equal to `expected`. */
export interface CallTest {
  args: unknown[];
  expected: unknown;
}

/** Ground truth of the stdin/stdout style. */
export interface StdioGroundTruth {
  language: Language;
  tests: StdioTest[];
}

/** Ground truth of the function-call style (the program defines `fn_name`, top level or as a method of a
 * `Solution` class in Python / `module.exports.<fn_name>` in JavaScript). */
export interface CallGroundTruth {
  language: Language;
  fn_name: string;
  tests: CallTest[];
}

export type CodeGroundTruth = StdioGroundTruth | CallGroundTruth;

export function isCallStyle(gt: CodeGroundTruth): gt is CallGroundTruth {
  return "fn_name" in gt;
}

/** all: reward 1 only if every test passes (the paper's choice); fraction: reward = passed / total. */
export type RewardMode = "all" | "fraction";
