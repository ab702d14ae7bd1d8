/**
 * Memory-mapped inputs (@m2rl/kernels-native/merge: mapFile, populate, release). With them the executor decodes a
 * 16-bit (or F64) tensor straight from the mapped file into its input buffer (the pages mapped in on a thread of
 * libuv's pool while the previous tensor merges, dropped from the process once decoded), instead of reading the raw
 * bytes into a fresh buffer per read. Float32 tensors are read with read() into reused buffers either way (faster
 * than views of the mapping on the benchmark). Off when the merge addon is not in use, when `M2RL_MMAP=0`, and for a
 * file that cannot be mapped. As with any memory-mapped reader (safetensors, NumPy), an input file truncated by
 * another program during the merge ends the process with SIGBUS.
 * Also here: the addon's BF16 encoder, with which inline merges encode results into reused buffers.
 */
import type { MappedFiles, MergeAddon } from "@m2rl/kernels-native/merge";
import { kernelInfo } from "../methods/kernels.ts";

async function loadAddon(): Promise<MergeAddon | undefined> {
  if (kernelInfo.name !== "native") return undefined;
  try {
    const r = (await import("@m2rl/kernels-native/merge")).loadMergeAddon();
    return "addon" in r ? r.addon : undefined;
  } catch {
    return undefined;
  }
}
const addon = await loadAddon();

/** The mapping functions, or undefined when inputs are read with read(). */
export const mapping: MappedFiles | undefined =
  addon &&
  process.env["M2RL_MMAP"] !== "0" &&
  typeof addon.mapFile === "function" &&
  typeof addon.populate === "function" &&
  typeof addon.release === "function"
    ? (addon as MappedFiles)
    : undefined;

/**
 * The addon's BF16 encoder (core's FloatCodec, bitwise equal to encodeFloat32's), for encoding results into
 * reused buffers; undefined without the addon.
 */
export const encodeBf16: ((src: Float32Array, dst: Uint16Array) => void) | undefined = addon
  ? (src, dst) => addon.encodeBf16(src, dst)
  : undefined;
