/**
 * Non-finite (NaN / ±Inf) detection for merge inputs and outputs, on each chunk as it is read or before it is
 * written. With the native merge addon: one vectorised pass over each input (`firstNonFinite` of
 * @m2rl/kernels-native/merge: exponent bits all ones, tested as integers a block of 1024 entries at a time), and a
 * 16-bit pass for stored BF16 / F16. Without it: core's TypeScript loop (x − x ≠ 0, four values per branch).
 * Either way the answer is the lowest index where some input is not finite, and the first input there.
 */
import {
  type DType,
  f16BitsToF32,
  f32FromBits,
  firstNonFinite as firstNonFiniteScalar,
} from "@m2rl/core/checkpoint";
import type { FiniteScan } from "@m2rl/kernels-native/merge";
import { kernelInfo, kernels } from "../methods/kernels.ts";

/** The native scans when the merge addon is in use (and built with them), else undefined. */
async function loadScan(): Promise<FiniteScan | undefined> {
  if (kernelInfo.name !== "native") return undefined;
  try {
    const r = (await import("@m2rl/kernels-native/merge")).loadMergeAddon();
    if (!("addon" in r)) return undefined;
    const a = r.addon;
    return typeof a.firstNonFinite === "function" &&
      typeof a.firstNonFinite16 === "function" &&
      typeof a.scanInputs === "function"
      ? (a as FiniteScan)
      : undefined;
  } catch {
    return undefined;
  }
}
const scan = await loadScan();
/** Which scan runs: the addon's one-pass scan or the TypeScript loop. */
export const finiteScanInfo: "native" | "js" = scan ? "native" : "js";
/** The native scan takes at most 64 inputs. */
const MAX_NATIVE_INPUTS = 64;

/**
 * The first non-finite value among `xs` (arrays of one length): the lowest index where some array is not finite,
 * and the first such array there; undefined when all are finite.
 */
export function firstNonFiniteIn(xs: readonly Float32Array[]): { which: number; index: number } | undefined {
  if (xs.length === 0) return undefined;
  if (scan && xs.length <= MAX_NATIVE_INPUTS) {
    const r = scan.firstNonFinite(xs);
    return r ? { which: r[0], index: r[1] } : undefined;
  }
  let best: { which: number; index: number } | undefined;
  for (const [which, x] of xs.entries()) {
    // only the part before the best index so far can hold an earlier one
    const i = firstNonFiniteJs(best ? x.subarray(0, best.index) : x);
    if (i >= 0) best = { which, index: i };
  }
  // (a later array non-finite at best.index itself does not replace it: the first array there wins)
  return best;
}

/**
 * A merge input check: the first non-finite value among `xs` (as firstNonFiniteIn) and, when `counts` is given (for
 * xs = [base, ...models]: models + 2 entries), the task vectors' update counts (MergeKernels.updateStats) written
 * into it. Natively one pass over the inputs serves both; the counts cover every entry even past a non-finite one.
 */
export function scanInputs(
  xs: readonly Float32Array[],
  counts?: Float64Array,
): { which: number; index: number } | undefined {
  if (scan && xs.length <= MAX_NATIVE_INPUTS && xs.length > 0) {
    const r = scan.scanInputs(xs, counts ?? null);
    return r ? { which: r[0], index: r[1] } : undefined;
  }
  if (counts) kernels.updateStats(xs[0], xs.slice(1), counts);
  return firstNonFiniteIn(xs);
}

/** Index of the first NaN / ±Inf in `x`, or −1 (native passes when the kernels are loaded). */
export function firstNonFinite(x: Float32Array): number {
  return firstNonFiniteIn([x])?.index ?? -1;
}

/** Index of the first NaN / ±Inf in `x`, or −1, in TypeScript (core's scan, the one loaders use). */
export const firstNonFiniteJs = firstNonFiniteScalar;

/** First index of a 16-bit float whose exponent bits are all ones (±Inf or NaN), or −1. */
function firstAllOnes(u: Uint16Array, mask: number): number {
  const n = u.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (
      (u[i] & mask) === mask ||
      (u[i + 1] & mask) === mask ||
      (u[i + 2] & mask) === mask ||
      (u[i + 3] & mask) === mask
    )
      break;
  }
  for (; i < n; i++) if ((u[i] & mask) === mask) return i;
  return -1;
}

/** `bytes` as a typed array of `C` (a copy when its offset is not aligned for it). */
function view<T>(
  bytes: Uint8Array,
  C: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = C.BYTES_PER_ELEMENT;
  const b = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new C(b.buffer, b.byteOffset, b.byteLength / size);
}

/**
 * The first non-finite value of stored (encoded) float data, with its index, or undefined. This is what a reader
 * of the output will see: a finite float32 that overflows float16 (|x| ≥ 65520) is found here as Infinity.
 */
export function firstNonFiniteStored(
  bytes: Uint8Array,
  dtype: DType,
): { index: number; value: number } | undefined {
  if (dtype === "F32") {
    const x = view(bytes, Float32Array);
    const i = firstNonFinite(x);
    return i < 0 ? undefined : { index: i, value: x[i] };
  }
  if (dtype === "F64") {
    const x = view(bytes, Float64Array);
    for (let i = 0; i < x.length; i++) if (x[i] - x[i] !== 0) return { index: i, value: x[i] };
    return undefined;
  }
  if (dtype === "F16" || dtype === "BF16") {
    const u = view(bytes, Uint16Array);
    const mask = dtype === "F16" ? 0x7c00 : 0x7f80;
    const i = scan ? scan.firstNonFinite16(u, mask) : firstAllOnes(u, mask);
    if (i < 0) return undefined;
    return { index: i, value: dtype === "F16" ? f16BitsToF32(u[i]) : f32FromBits(u[i] << 16) };
  }
  return undefined; // integer and other non-float data is always finite
}
