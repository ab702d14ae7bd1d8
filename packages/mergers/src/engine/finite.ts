/**
 * Non-finite (NaN / ±Inf) detection for merge inputs and outputs, on each chunk as it is read or before it is
 * written. The rule is x − x ≠ 0 (0 for every finite x, NaN for NaN and ±Inf). With the native merge kernels a
 * block of up to 2^16 entries of every input goes through one SIMD pass, out = Σ 0·x_i (NaN exactly where some
 * input is not finite), and a second counts that block's NaNs (updateStats counts v ≠ v); only a block that holds
 * one is searched entry by entry. Without them, a TypeScript loop (four values per branch).
 */
import {
  type DType,
  decodeFloat32,
  f16BitsToF32,
  f32FromBits,
  firstNonFinite as firstNonFiniteScalar,
} from "@m2rl/core/checkpoint";
import { kernelInfo, kernels } from "../methods/kernels.ts";

const BLOCK = 1 << 16;
/** Per thread (each worker has its own module instance); calls are synchronous, so one block at a time. */
const scratch = new Float32Array(BLOCK);
const decoded = new Float32Array(BLOCK);
const counts = new Float64Array(3);
const zeroWeights: Float64Array[] = [];
/** The native kernels take at most 64 inputs. */
const MAX_NATIVE_INPUTS = 64;

/** Whether any of `xs` (one length, at most BLOCK) holds a non-finite value, in two native passes. */
function blockHasNonFinite(xs: readonly Float32Array[]): boolean {
  const n = xs[0].length;
  const w = (zeroWeights[xs.length] ??= new Float64Array(xs.length));
  const t = scratch.subarray(0, n);
  kernels.weightedSum(t, xs, w, 1);
  kernels.updateStats(t, [t], counts);
  return counts[0] !== 0;
}

/**
 * The first non-finite value among `xs` (arrays of one length): which array, and its index; undefined when all
 * are finite. Arrays are searched in order within the first block that holds one.
 */
export function firstNonFiniteIn(xs: readonly Float32Array[]): { which: number; index: number } | undefined {
  if (xs.length === 0) return undefined;
  const n = xs[0].length;
  if (kernelInfo.name !== "native" || xs.length > MAX_NATIVE_INPUTS) {
    for (const [which, x] of xs.entries()) {
      const index = firstNonFiniteJs(x);
      if (index >= 0) return { which, index };
    }
    return undefined;
  }
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    const blocks = xs.map((x) => x.subarray(start, end));
    if (!blockHasNonFinite(blocks)) continue;
    for (const [which, b] of blocks.entries()) {
      const i = firstNonFiniteJs(b);
      if (i >= 0) return { which, index: start + i };
    }
  }
  return undefined;
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
  if (dtype === "BF16" && kernelInfo.name === "native") {
    // decoded a block at a time (the native codec: bits << 16, Inf and NaN kept), then the native check
    const u = view(bytes, Uint16Array);
    for (let start = 0; start < u.length; start += BLOCK) {
      const part = u.subarray(start, Math.min(u.length, start + BLOCK));
      const x = decodeFloat32(
        "BF16",
        new Uint8Array(part.buffer, part.byteOffset, part.byteLength),
        decoded.subarray(0, part.length),
      );
      const i = firstNonFinite(x);
      if (i >= 0) return { index: start + i, value: x[i] };
    }
    return undefined;
  }
  if (dtype === "F16" || dtype === "BF16") {
    const u = view(bytes, Uint16Array);
    const i = firstAllOnes(u, dtype === "F16" ? 0x7c00 : 0x7f80);
    if (i < 0) return undefined;
    return { index: i, value: dtype === "F16" ? f16BitsToF32(u[i]) : f32FromBits(u[i] << 16) };
  }
  return undefined; // integer and other non-float data is always finite
}
