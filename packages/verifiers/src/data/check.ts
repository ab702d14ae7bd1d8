/**
 * A quick look at a dataset file, for validating an experiment before a run: the file is there and is a file, its
 * format is known, and its first rows parse and have a prompt and a ground truth (JSONL: the first lines; Parquet:
 * the footer, the column names, every column chunk's compression codec, then the first rows). Whole datasets are
 * never loaded, so a bad row past the rows looked at is found when the run loads the split. Whether a ground truth
 * suits the domain (a number for math, test cases for code) is the domain's check, also at load time.
 *
 * Light to import: no domain verifier, only the row readers.
 */
import { DataError } from "@m2rl/core/errors";
import { type DataFormat, type DataFormatName, formatOf, jsonlRow, type Row } from "./rows.ts";
import { promptOf } from "./verl.ts";

export interface CheckedDataFile {
  /** Absolute path of the file. */
  file: string;
  format: DataFormat;
  /** Rows parsed and checked (the first ones). */
  rowsChecked: number;
  /** Rows in the file, when its header tells (Parquet). */
  rows?: number;
  /** Top-level column names (Parquet). */
  columns?: string[];
}

export interface CheckDataFileOptions {
  /** Folder a relative path resolves against. */
  baseDir?: string;
  format?: DataFormatName;
  /** Rows to parse and check (default 100). */
  maxRows?: number;
  /** JSONL bytes read at most (default 4 MiB); the rows past them are not checked. */
  maxBytes?: number;
}

const PROMPT_COLUMNS = ["prompt", "question", "problem"];
/** Where a row's ground truth may be: verl's `reward_model.ground_truth`, flat fields, IFEval's instruction list. */
const TRUTH_COLUMNS = ["reward_model", "ground_truth", "answer", "instruction_id_list", "extra_info"];

/** Checks a data file's header and first rows; throws a DataError naming the file (and line) and the reason. */
export async function checkDataFile(
  path: string,
  options: CheckDataFileOptions = {},
): Promise<CheckedDataFile> {
  const { isAbsolute, resolve } = await import("node:path");
  const { stat } = await import("node:fs/promises");
  const file = options.baseDir && !isAbsolute(path) ? resolve(options.baseDir, path) : resolve(path);
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new DataError(s.isDirectory() ? "not a file (a folder)" : "not a file", { file });
    size = s.size;
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === "ENOENT" ? "not found" : `cannot read: ${(e as Error).message}`, { file });
  }
  const format = formatOf(file, options.format);
  const maxRows = options.maxRows ?? 100;
  const checked =
    format === "parquet"
      ? await checkParquet(file, maxRows)
      : await checkJsonl(file, size, maxRows, options.maxBytes ?? 4 * 1024 ** 2);
  return { file, format, ...checked };
}

/** A row a domain can turn into a task: a prompt (string or chat list with a user turn) and a ground truth. */
function checkRow(row: Row, file: string): void {
  promptOf(row.data, { file, line: row.line, domain: "", split: "train" });
  const d = row.data;
  const rm = typeof d.reward_model === "string" ? safeJson(d.reward_model) : d.reward_model;
  const extra = typeof d.extra_info === "string" ? safeJson(d.extra_info) : d.extra_info;
  const has = (o: unknown, k: string) =>
    !!o && typeof o === "object" && (o as Record<string, unknown>)[k] !== undefined;
  if (
    has(rm, "ground_truth") ||
    has(d, "ground_truth") ||
    has(d, "answer") ||
    has(d, "instruction_id_list") ||
    has(extra, "instruction_id_list")
  )
    return;
  throw new DataError(
    "no ground truth (reward_model.ground_truth, ground_truth, answer or instruction_id_list)",
    { file, line: row.line },
  );
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

async function checkJsonl(
  file: string,
  size: number,
  maxRows: number,
  maxBytes: number,
): Promise<Omit<CheckedDataFile, "file" | "format">> {
  const { open } = await import("node:fs/promises");
  const handle = await open(file, "r");
  let bytes: Uint8Array;
  try {
    const n = Math.min(size, maxBytes);
    bytes = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const { bytesRead } = await handle.read(bytes, off, n - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    bytes = bytes.subarray(0, off);
  } finally {
    await handle.close();
  }
  // A partial read ends at the last complete line (never inside a UTF-8 sequence).
  if (bytes.byteLength < size) bytes = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError("not valid UTF-8", { file });
  }
  const lines = text.split(/\r?\n/);
  let rowsChecked = 0;
  for (let i = 0; i < lines.length && rowsChecked < maxRows; i++) {
    const row = jsonlRow(lines[i], file, i + 1);
    if (!row) continue;
    checkRow(row, file);
    rowsChecked++;
  }
  if (rowsChecked === 0 && bytes.byteLength === size) throw new DataError("has no rows", { file });
  return { rowsChecked };
}

async function checkParquet(
  file: string,
  maxRows: number,
): Promise<Omit<CheckedDataFile, "file" | "format">> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } = await import(
    "hyparquet"
  );
  const { compressors } = await import("hyparquet-compressors");
  const { PARQUET_CODECS, parquetRowData } = await import("./rows.ts");
  const unreadable = (e: unknown) =>
    new DataError(`not a readable Parquet file: ${(e as Error).message}`, { file }, { cause: e });
  let buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw unreadable(e);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  for (const rg of metadata.row_groups)
    for (const chunk of rg.columns) {
      const codec = chunk.meta_data?.codec;
      if (codec && !PARQUET_CODECS.includes(codec))
        throw new DataError(
          `column '${chunk.meta_data?.path_in_schema.join(".")}' uses compression codec ${codec}, which is not supported (supported: ${PARQUET_CODECS.join(", ")})`,
          { file },
        );
    }
  if (!PROMPT_COLUMNS.some((c) => columns.includes(c)))
    throw new DataError(`no prompt column (prompt, question or problem); columns: ${columns.join(", ")}`, {
      file,
    });
  if (!TRUTH_COLUMNS.some((c) => columns.includes(c)))
    throw new DataError(
      `no ground-truth column (reward_model, ground_truth, answer or instruction_id_list); columns: ${columns.join(", ")}`,
      { file },
    );
  const rows = Number(metadata.num_rows);
  if (rows === 0) throw new DataError("has no rows", { file });
  let objs: Record<string, unknown>[];
  try {
    objs = (await parquetReadObjects({
      file: buffer,
      metadata,
      compressors,
      rowStart: 0,
      rowEnd: Math.min(rows, maxRows),
    })) as Record<string, unknown>[];
  } catch (e) {
    throw unreadable(e);
  }
  objs.forEach((o, i) => {
    checkRow({ data: parquetRowData(o), line: i + 1 }, file);
  });
  return { rowsChecked: objs.length, rows, columns };
}
