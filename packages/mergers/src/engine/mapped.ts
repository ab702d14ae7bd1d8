/**
 * Memory-mapped inputs (@m2rl/kernels-native/merge: mapFile, populate, release). With them the executor reads a
 * tensor without read()'s copy: a float32 tensor is a view of the page cache (its pages mapped in on a thread of
 * libuv's pool while the previous tensor merges), a 16-bit one is decoded straight from the mapped file into the
 * input buffer; the pages leave the process once the tensor is merged, so resident memory stays at the tensors in
 * flight. Off when the merge addon is not in use, when `M2RL_MMAP=0`, and for a file that cannot be mapped; reads
 * then go through the checkpoint reader (read() into reused buffers). As with any memory-mapped reader (safetensors,
 * NumPy), an input file truncated by another program during the merge ends the process with SIGBUS.
 */
import type { MappedFiles } from "@m2rl/kernels-native/merge";
import { kernelInfo } from "../methods/kernels.ts";

async function load(): Promise<MappedFiles | undefined> {
  if (kernelInfo.name !== "native" || process.env["M2RL_MMAP"] === "0") return undefined;
  try {
    const r = (await import("@m2rl/kernels-native/merge")).loadMergeAddon();
    if (!("addon" in r)) return undefined;
    const a = r.addon;
    return typeof a.mapFile === "function" &&
      typeof a.populate === "function" &&
      typeof a.release === "function"
      ? (a as MappedFiles)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The mapping functions, or undefined when inputs are read with read(). */
export const mapping: MappedFiles | undefined = await load();
