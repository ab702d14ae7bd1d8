import { stat } from "node:fs/promises";
import { Checkpoint } from "@m2rl/core/checkpoint";
import { CheckpointError } from "@m2rl/core/errors";
import { NodeFileSource } from "./file-source.ts";
import { NodeFileStore } from "./file-store.ts";

/** Opens a checkpoint from a path: a .safetensors file, or a folder (single file or sharded with an index). */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new CheckpointError("no such file or folder", { file: path });
  }
  if (isDir) return Checkpoint.open(new NodeFileStore(path));
  return Checkpoint.fromSource(new NodeFileSource(path));
}
