/**
 * `@m2rl/kernels-native/merge`: the native merge kernels (csrc/merge.c) for @m2rl/mergers. Independent of
 * TensorFlow.js: this entry loads only the `m2rl_merge` addon. Each kernel is bitwise equal to the TypeScript loop
 * it replaces in @m2rl/mergers (src/methods/kernels-js.ts), which the mergers' tests check; the gain is SIMD code.
 */
import { createRequire } from "node:module";
import type { FloatCodec } from "@m2rl/core/checkpoint";
import type { MergeKernels } from "@m2rl/core/merge";

/**
 * One-pass NaN / ±Inf scans (exponent bits all ones, tested as integers: vectorised, one read of each input).
 * `firstNonFinite(xs)`: undefined when every value of `xs` (1-64 Float32Arrays of one length) is finite, else
 * [which, index]: the lowest index where some array is not finite, and the first such array there.
 * `firstNonFinite16(u, mask)`: index of the first 16-bit float with all of `mask`'s exponent bits set (0x7f80:
 * BF16, 0x7c00: F16), or -1.
 */
export interface FiniteScan {
  firstNonFinite(xs: readonly Float32Array[]): [number, number] | undefined;
  firstNonFinite16(u: Uint16Array, mask: number): number;
  /**
   * `firstNonFinite(xs)` and, with `counts` (models + 2 entries, xs = [base, ...models]), MergeKernels.updateStats
   * into it, in one pass over the inputs; the counts cover every entry even past a non-finite one.
   */
  scanInputs(xs: readonly Float32Array[], counts: Float64Array | null): [number, number] | undefined;
}

/**
 * Memory-mapped inputs: `mapFile(path)` maps a whole file copy-on-write (writes stay private) as an ArrayBuffer
 * that unmaps itself when collected (undefined when it cannot be mapped); `populate(buffer, offset, length)` maps
 * that range's pages in on a thread of libuv's pool (MADV_POPULATE_READ); `release(buffer, offset, length)` drops
 * the whole pages inside the range from the process (MADV_DONTNEED: the page cache keeps them).
 */
export interface MappedFiles {
  mapFile(path: string): ArrayBuffer | undefined;
  populate(buffer: ArrayBuffer, offset: number, length: number): Promise<void>;
  release(buffer: ArrayBuffer, offset: number, length: number): void;
}

/** The addon's functions: core's MergeKernels contract, the BF16 FloatCodec, the non-finite scans, mappings. */
export type MergeAddon = MergeKernels & FloatCodec & Partial<FiniteScan> & Partial<MappedFiles>;

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
