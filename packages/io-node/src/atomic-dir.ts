import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { M2rlError } from "@m2rl/core/errors";
import { syncDir } from "./file-sink.ts";

export interface AtomicDirectoryOptions {
  /** Replace an existing `finalDir` (moved aside, then removed after the new one is in place). Default false. */
  overwrite?: boolean;
  /** fsync the folder and its parent around the rename (default true; see SinkOptions.durable). */
  durable?: boolean;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** `<dir>.tmp-<pid>-<rand>` beside `finalDir`. */
export function tempDirFor(finalDir: string): string {
  const abs = resolve(finalDir);
  return join(dirname(abs), `${basename(abs)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * Builds a folder atomically: `build` fills a fresh temp folder beside `finalDir`; on success it is renamed to
 * `finalDir`, on failure (or a throw from `build`) it is removed, so `finalDir` is either complete or untouched.
 * Fails before calling `build` when `finalDir` exists and `overwrite` is not set.
 */
export async function atomicDirectory<T>(
  finalDir: string,
  build: (tempDir: string) => Promise<T>,
  options: AtomicDirectoryOptions = {},
): Promise<T> {
  const target = resolve(finalDir);
  if (!options.overwrite && (await exists(target))) {
    throw new M2rlError("output folder already exists (choose another one or allow overwriting)", {
      file: finalDir,
    });
  }
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempDirFor(target);
  await mkdir(tmp);
  try {
    const result = await build(tmp);
    const durable = options.durable ?? true;
    if (durable) await syncDir(tmp);
    if (await exists(target)) {
      if (!options.overwrite)
        throw new M2rlError("output folder appeared while it was being built", { file: finalDir });
      const old = `${tmp}.old`;
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    if (durable) await syncDir(dirname(target));
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
