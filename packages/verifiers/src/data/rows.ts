/**
 * Row readers for dataset files: JSONL (one JSON object per line) and Parquet (hyparquet, pure JS).
 * Each row keeps its 1-based line (JSONL) or row number (Parquet) so that errors name where the bad input is.
 */
import { DataError } from "@m2rl/core/errors";
import { parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";

export interface Row {
  data: Record<string, unknown>;
  /** 1-based line in a JSONL file, 1-based row in a Parquet file. */
  line: number;
}

export type DataFormat = "jsonl" | "parquet";

/**
 * A format as an experiment may name it: `verl` means verl-format rows in the container the file name tells
 * (`.jsonl` or `.parquet`), Parquet when it tells neither (verl's datasets are Parquet files).
 */
export type DataFormatName = DataFormat | "verl";

/** Max bytes accepted for one dataset file (a guard against reading an unbounded file into memory). */
export const MAX_DATA_BYTES = 2 * 1024 ** 3;

export function formatOf(file: string, format?: DataFormatName): DataFormat {
  if (format && format !== "verl") return format;
  if (/\.parquet$/i.test(file)) return "parquet";
  if (/\.(jsonl|ndjson|json)$/i.test(file)) return "jsonl";
  if (format === "verl") return "parquet";
  throw new DataError(
    "cannot tell the data format from the file name (use .jsonl or .parquet, or set format)",
    {
      file,
    },
  );
}

export function readJsonl(bytes: Uint8Array, file: string): Row[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError("not valid UTF-8", { file });
  }
  const rows: Row[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const row = jsonlRow(lines[i], file, i + 1);
    if (row) rows.push(row);
  }
  return rows;
}

/** One JSONL line as a row; undefined for a blank line. */
export function jsonlRow(text: string, file: string, line: number): Row | undefined {
  const raw = text.trim();
  if (!raw) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new DataError(`not JSON: ${(e as Error).message}`, { file, line });
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw new DataError("each line must be a JSON object", { file, line });
  }
  return { data: v as Record<string, unknown>, line };
}

/** Parquet compression codecs the reader decodes (hyparquet's own and hyparquet-compressors'). */
export const PARQUET_CODECS: readonly string[] = ["UNCOMPRESSED", ...Object.keys(compressors)];

/** Parquet row objects with JSONL-like values (INT64 as numbers when safe). */
export function parquetRowData(obj: Record<string, unknown>): Record<string, unknown> {
  return normaliseValue(obj) as Record<string, unknown>;
}

export async function readParquet(bytes: Uint8Array, file: string): Promise<Row[]> {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let objs: Record<string, unknown>[];
  try {
    objs = (await parquetReadObjects({ file: buf, compressors })) as Record<string, unknown>[];
  } catch (e) {
    throw new DataError(`not a readable Parquet file: ${(e as Error).message}`, { file }, { cause: e });
  }
  return objs.map((data, i) => ({ data: parquetRowData(data), line: i + 1 }));
}

/** BigInt (INT64 columns) → number when safe, so rows look like their JSONL twins. */
function normaliseValue(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(normaliseValue);
  if (v && typeof v === "object" && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normaliseValue(x);
    return out;
  }
  return v;
}

export async function readRows(bytes: Uint8Array, file: string, format?: DataFormatName): Promise<Row[]> {
  if (bytes.byteLength > MAX_DATA_BYTES)
    throw new DataError(`file too large (${bytes.byteLength} bytes)`, { file });
  return formatOf(file, format) === "parquet" ? readParquet(bytes, file) : readJsonl(bytes, file);
}
