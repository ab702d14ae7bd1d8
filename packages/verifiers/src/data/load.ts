/**
 * Loading a domain's dataset split from a file: bytes through `DomainContext.readFile` when the host gives it,
 * else Node's fs (this package runs on Node). Relative paths resolve against `DomainContext.baseDir`.
 */
import type { DomainContext, Split, Task, TaskQuery } from "@m2rl/core";
import { DataError } from "@m2rl/core/errors";
import { Rng } from "@m2rl/core/rng";
import { type DataFormat, type DataFormatName, formatOf, readRows } from "./rows.ts";
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

/**
 * Whether a domain factory reads data files: its options schema has a `data` property (the shape of
 * `DATA_FILES_SCHEMA`), which its `tasks` serves splits from (as the built-in domains do through `loadSplit`).
 * A host hands an experiment's split files (`domains.<id>.<split>.file`) to such a domain only.
 */
export function takesDataFiles(optionsSchema: unknown): boolean {
  const props = (optionsSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return !!props && typeof props === "object" && props.data !== undefined;
}

/** A split's file as an experiment names it (`domains.<id>.<split>`). */
export interface SplitFile {
  file?: string;
  format?: DataFormatName;
}

/**
 * Domain options with the experiment's split files put into `data` (`data.<split>` and `data.formats.<split>`), so
 * that the domain's own loader reads them. The options are not changed; a split whose file is given in both places
 * is the caller's to refuse (the split file wins here).
 */
export function withSplitFiles<O extends { data?: DataFiles }>(
  options: O,
  splits: Partial<Record<Split, SplitFile>>,
): O {
  let data: DataFiles | undefined;
  for (const split of ["train", "eval"] as const) {
    const s = splits[split];
    if (!s?.file) continue;
    data ??= { ...options.data, formats: { ...options.data?.formats } };
    data[split] = s.file;
    // A split file's format is its own (or its extension's), never the one `data.format` gives the other files.
    const format = s.format ?? formatFromName(s.file);
    if (format) data.formats = { ...data.formats, [split]: format };
  }
  return data ? { ...options, data } : options;
}

function formatFromName(file: string): DataFormat | undefined {
  try {
    return formatOf(file);
  } catch {
    return undefined;
  }
}
