/**
 * The merge kernels in use: the native SIMD ones from @m2rl/kernels-native/merge when that addon is built (and
 * M2RL_NATIVE is not 0), else the TypeScript loops of kernels-js.ts. Both give bitwise-equal results (tested), so
 * the choice changes speed only. More than 64 models always take the TypeScript path (the addon's limit).
 */
import { type FloatCodec, registerFloatCodec } from "@m2rl/core/checkpoint";
import { jsKernels, type MergeKernels } from "./kernels-js.ts";

export type { MergeKernels } from "./kernels-js.ts";

const MAX_NATIVE_MODELS = 64;

async function loadNative(): Promise<{ kernels?: MergeKernels; codec?: FloatCodec; why?: string }> {
  try {
    const mod = await import("@m2rl/kernels-native/merge");
    const r = mod.loadMergeAddon();
    return "addon" in r ? { kernels: r.addon, codec: r.addon } : { why: r.error };
  } catch (err) {
    return { why: `@m2rl/kernels-native is not installed (${(err as Error).message.split("\n")[0]})` };
  }
}

const loaded = await loadNative();
// the addon also converts BF16 for core's checkpoint reader and writer (inputs and outputs are mostly BF16)
if (loaded.codec) registerFloatCodec(loaded.codec);

/** Which implementation runs, and why not the native one when it does not. */
export const kernelInfo: { name: "native" | "js"; reason?: string } = loaded.kernels
  ? { name: "native" }
  : { name: "js", reason: loaded.why };

function withFallback(native: MergeKernels): MergeKernels {
  const many = (xs: readonly unknown[]) => xs.length > MAX_NATIVE_MODELS;
  return {
    weightedSum: (o, xs, w, s) => (many(xs) ? jsKernels : native).weightedSum(o, xs, w, s),
    taskArithmetic: (o, b, xs, w, s) => (many(xs) ? jsKernels : native).taskArithmetic(o, b, xs, w, s),
    subtract: (o, a, b) => native.subtract(o, a, b),
    combine: (o, b, ds, w, s) => (many(ds) ? jsKernels : native).combine(o, b, ds, w, s),
    consensus: (o, b, ds, w, t, c, n, l) =>
      (many(ds) ? jsKernels : native).consensus(o, b, ds, w, t, c, n, l),
    erase: (o, b, ds, w) => (many(ds) ? jsKernels : native).erase(o, b, ds, w),
    absHistogram: (x, h, hi) => native.absHistogram(x, h, hi),
    trim: (x, t) => native.trim(x, t),
    updateStats: (b, ms, o) => (many(ms) ? jsKernels : native).updateStats(b, ms, o),
  };
}

/** The kernels every merge method calls. */
export const kernels: MergeKernels = loaded.kernels ? withFallback(loaded.kernels) : jsKernels;
