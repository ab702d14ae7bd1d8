/**
 * The safetensors header: 8-byte little-endian length N, then N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the data section.
 * Offsets are relative to the data section, which must be indexed entirely, without overlaps or holes.
 */
import { CheckpointError } from "../errors/index.ts";
import { DTYPE_SIZE, type DType, isDType, numel } from "./dtype.ts";

/** Largest header accepted (the reference implementation uses 100 MB too). */
export const MAX_HEADER_BYTES = 100_000_000;

/** A tensor as declared before its data: what a writer needs. */
export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

/** A tensor as found in a file's header. Offsets are absolute within the file. */
export interface TensorEntry extends TensorSpec {
  /** Absolute byte offset of the first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** Tensors in header (declaration) order. */
  tensors: TensorEntry[];
  metadata: Record<string, string>;
  /** Absolute offset of the data section (8 + header length). */
  dataStart: number;
  /** Total file size the header describes. */
  fileSize: number;
}

/** Reads the header length from the first 8 bytes and checks it against the bounds and the file size. */
export function parseHeaderLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first8.byteLength < 8) {
    throw new CheckpointError(`file is ${fileSize} bytes, too short for a safetensors header`, { file });
  }
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi !== 0 || n > MAX_HEADER_BYTES) {
    throw new CheckpointError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`, { file });
  }
  if (n < 2) throw new CheckpointError(`header length ${n} is too small for a JSON object`, { file });
  if (8 + n > fileSize) {
    throw new CheckpointError(`header length ${n} runs past the end of the file (${fileSize} bytes)`, {
      file,
    });
  }
  return n;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parses and validates header JSON bytes. `fileSize` is the size of the whole file: the data section is
 * `fileSize - 8 - headerBytes.length` bytes and must be covered exactly by the tensors.
 */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    throw new CheckpointError("header is not valid UTF-8", { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`header is not valid JSON (${(e as Error).message})`, { file });
  }
  if (!isPlainObject(json)) throw new CheckpointError("header JSON is not an object", { file });
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isPlainObject(raw)) throw new CheckpointError("__metadata__ is not an object", { file });
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") {
          throw new CheckpointError(`__metadata__ value of "${k}" is not a string`, {
            file,
            path: "__metadata__",
          });
        }
        metadata[k] = v;
      }
      continue;
    }
    const at = { file, path: name };
    if (name.length === 0) throw new CheckpointError("empty tensor name", { file });
    if (!isPlainObject(raw)) throw new CheckpointError("tensor entry is not an object", at);
    const { dtype, shape, data_offsets: offsets } = raw;
    if (!isDType(dtype)) throw new CheckpointError(`unknown dtype ${JSON.stringify(dtype)}`, at);
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw new CheckpointError(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, at);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      throw new CheckpointError(`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`, at);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw new CheckpointError(`data_offsets begin ${begin} > end ${end}`, at);
    if (end > dataSize) {
      throw new CheckpointError(
        `data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes; file truncated?)`,
        at,
      );
    }
    const expected = numel(shape as number[]) * DTYPE_SIZE[dtype];
    if (end - begin !== expected) {
      throw new CheckpointError(
        `byte length ${end - begin} does not match dtype ${dtype} x shape [${(shape as number[]).join(", ")}] = ${expected} bytes`,
        at,
      );
    }
    tensors.push({
      name,
      dtype,
      shape: [...(shape as number[])],
      offset: dataStart + begin,
      byteLength: expected,
    });
    ranges.push({ name, begin, end });
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const r of ranges) {
    if (r.begin < cursor) {
      throw new CheckpointError(`data_offsets [${r.begin}, ${r.end}] overlap another tensor`, {
        file,
        path: r.name,
      });
    }
    if (r.begin > cursor) {
      throw new CheckpointError(
        `hole in the data section before byte ${r.begin} (tensors must be contiguous)`,
        {
          file,
          path: r.name,
        },
      );
    }
    cursor = r.end;
  }
  if (cursor !== dataSize) {
    throw new CheckpointError(`data section has ${dataSize - cursor} bytes not covered by any tensor`, {
      file,
    });
  }
  return { tensors, metadata, dataStart, fileSize };
}

/**
 * Encodes a header for `tensors` laid out contiguously in the given order, padded with spaces to a multiple of 8
 * bytes (as the Hugging Face writer does). Returns the 8-byte length prefix and JSON together.
 */
export function encodeHeader(tensors: readonly TensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) obj["__metadata__"] = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === "__metadata__" || t.name.length === 0) {
      throw new CheckpointError(`invalid tensor name ${JSON.stringify(t.name)}`, { path: t.name });
    }
    if (seen.has(t.name)) throw new CheckpointError("tensor declared twice", { path: t.name });
    seen.add(t.name);
    if (!isDType(t.dtype))
      throw new CheckpointError(`unknown dtype ${JSON.stringify(t.dtype)}`, { path: t.name });
    if (!t.shape.every(isIndex))
      throw new CheckpointError(`bad shape ${JSON.stringify(t.shape)}`, { path: t.name });
    const n = numel(t.shape) * DTYPE_SIZE[t.dtype];
    obj[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = new TextEncoder().encode(JSON.stringify(obj));
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.byteLength + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.byteLength % 2 ** 32, true);
  dv.setUint32(4, Math.floor(json.byteLength / 2 ** 32), true);
  out.set(json, 8);
  return out;
}
