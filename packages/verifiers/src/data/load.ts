/**
 * Loading a domain's dataset split from a file: bytes through `DomainContext.readFile` when the host gives it,
 * else Node's fs (this package runs on Node). Relative paths resolve against `DomainContext.baseDir`.
 */
import type { DomainContext, Split, Task, TaskQuery } from "@m2rl/core";
import { DataError } from "@m2rl/core/errors";
import { Rng } from "@m2rl/core/rng";
import { type DataFormat, type DataFormatName, readRows } from "./rows.ts";
import { type GroundTruthMapper, verlRowToTask } from "./verl.ts";

export { DATA_FILES_SCHEMA } from "./schema.ts";

export interface DataFiles {
  train?: string;
  eval?: string;
  format?: DataFormat;
  /**
   * The format of one split's file, over `format`. Not an option users write (the `data` schema has no such key):
   * the host sets it when an experiment gives a split's `file` and `format` (`domains.<id>.<split>`).
   */
  formats?: Partial<Record<Split, DataFormatName>>;
}

export async function readDataFile(
  path: string,
  context: DomainContext = {},
): Promise<{ bytes: Uint8Array; file: string }> {
  const { isAbsolute, resolve } = await import("node:path");
  const file = context.baseDir && !isAbsolute(path) ? resolve(context.baseDir, path) : path;
  try {
    if (context.readFile) return { bytes: await context.readFile(file), file };
    const { readFile } = await import("node:fs/promises");
    return { bytes: new Uint8Array(await readFile(file)), file };
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot read: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** Parses bytes of a verl-format file into tasks (all rows, file order). */
export async function tasksFromBytes<G>(
  bytes: Uint8Array,
  opts: {
    file: string;
    domain: string;
    split: Split;
    format?: DataFormatName;
    template?: string;
    mapGroundTruth: GroundTruthMapper<G>;
  },
): Promise<Task<G>[]> {
  const rows = await readRows(bytes, opts.file, opts.format);
  const tasks = rows.map((r) => verlRowToTask(r, opts));
  const seen = new Set<string>();
  for (const t of tasks) {
    if (seen.has(t.id)) t.id = `${t.id}@${(t.meta?.line as number) ?? ""}`;
    seen.add(t.id);
  }
  return tasks;
}

/** A split of a dataset: train is shuffled with the query seed, eval keeps file order; `count` truncates. */
export async function loadSplit<G>(
  files: DataFiles,
  query: TaskQuery,
  opts: { domain: string; context?: DomainContext; template?: string; mapGroundTruth: GroundTruthMapper<G> },
): Promise<Task<G>[] | undefined> {
  const path = query.split === "train" ? files.train : files.eval;
  if (!path) return undefined;
  const { bytes, file } = await readDataFile(path, opts.context);
  const tasks = await tasksFromBytes(bytes, {
    ...opts,
    file,
    split: query.split,
    format: files.formats?.[query.split] ?? files.format,
  });
  if (query.split === "train") Rng.derive(query.seed, `${opts.domain}/data`).shuffle(tasks);
  return query.count !== undefined ? tasks.slice(0, query.count) : tasks;
}
