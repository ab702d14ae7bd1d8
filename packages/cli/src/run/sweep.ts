/**
 * Temp files of dead writers. Every writer of the run folder writes `<name>.tmp-<pid>[-…]` (or `.<name>.tmp-<pid>-…`)
 * and renames it into place; a SIGKILL between the two leaves the temp file or folder behind, and with a real model
 * it can be a partial multi-GB checkpoint. `m2rl run` sweeps the run folder at start: a temp entry whose writer
 * process is gone is removed; one whose pid is alive (another run writing there, or a reused pid) is left alone.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const TEMP = /\.tmp-(\d+)(?:[-.]|$)/;

/** True when a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The writer pid a temp entry's name carries, or undefined for a regular entry. */
export function tempWriterPid(name: string): number | undefined {
  const m = TEMP.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Removes the temp files and folders of dead writers under `dir` (recursively, `maxDepth` levels); returns their
 * paths. A missing `dir` is empty.
 */
export async function sweepStaleTemps(
  dir: string,
  options: { maxDepth?: number; isAlive?: (pid: number) => boolean } = {},
): Promise<string[]> {
  const isAlive = options.isAlive ?? processAlive;
  const removed: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      const pid = tempWriterPid(e.name);
      if (pid !== undefined) {
        if (pid !== process.pid && !isAlive(pid)) {
          await rm(path, { recursive: true, force: true });
          removed.push(path);
        }
      } else if (e.isDirectory() && !e.isSymbolicLink() && depth < (options.maxDepth ?? 6)) {
        await walk(path, depth + 1);
      }
    }
  };
  await walk(dir, 0);
  return removed;
}
