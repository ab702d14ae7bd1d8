/**
 * `@m2rl/kernels-native/merge`: the native merge kernels (csrc/merge.c) for @m2rl/mergers. Independent of
 * TensorFlow.js: this entry loads only the `m2rl_merge` addon. Each kernel is bitwise equal to the TypeScript loop
 * it replaces in @m2rl/mergers (src/methods/kernels-js.ts), which the mergers' tests check; the gain is SIMD code.
 */
import { createRequire } from "node:module";
import type { FloatCodec } from "@m2rl/core/checkpoint";
import type { MergeKernels } from "@m2rl/core/merge";

/** The addon's functions: core's MergeKernels contract plus the BF16 FloatCodec. */
export type MergeAddon = MergeKernels & FloatCodec;

/** Where the addon is built, relative to src/ and dist/. */
export const MERGE_ADDON_PATH = "../build/Release/m2rl_merge.node";

/** Loads the merge addon, or says why it cannot (not built, M2RL_NATIVE=0). */
export function loadMergeAddon(): { addon: MergeAddon } | { error: string } {
  if (process.env["M2RL_NATIVE"] === "0") return { error: "disabled by M2RL_NATIVE=0" };
  try {
    return { addon: createRequire(import.meta.url)(MERGE_ADDON_PATH) as MergeAddon };
  } catch (err) {
    return {
      error: `addon not loaded (${(err as Error).message.split("\n")[0]}); build it with \`npm rebuild @m2rl/kernels-native\``,
    };
  }
}
