/** Reads one safetensors file through a ByteSource, one tensor at a time (never the whole file). */
import { CheckpointError } from "../errors/index.ts";
import type { ByteSource } from "../io/index.ts";
import { DTYPE_SIZE, decodeFloat32, isFloatDType } from "./dtype.ts";
import { parseHeader, parseHeaderLength, type SafetensorsHeader, type TensorEntry } from "./header.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A range of elements of a tensor, in row-major (flat) order. */
export interface ElementRange {
  start: number;
  count: number;
}

export class SafetensorsReader {
  private readonly byName: Map<string, TensorEntry>;

  private constructor(
    readonly source: ByteSource,
    readonly header: SafetensorsHeader,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Reads and validates the header (8 bytes + header bytes; no tensor data). */
  static async open(source: ByteSource): Promise<SafetensorsReader> {
    const file = source.name;
    const size = await source.size();
    if (size < 8)
      throw new CheckpointError(`file is ${size} bytes, too short for a safetensors header`, { file });
    const n = parseHeaderLength(await source.read(0, 8), size, file);
    const header = parseHeader(await source.read(8, n), size, file);
    return new SafetensorsReader(source, header);
  }

  get name(): string {
    return this.source.name;
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensors in header order. */
  tensors(): readonly TensorEntry[] {
    return this.header.tensors;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): TensorEntry {
    const e = this.byName.get(name);
    if (!e) throw new CheckpointError("tensor not found", { file: this.name, path: name });
    return e;
  }

  /** Raw little-endian bytes of a tensor (or of an element range of it). */
  async readRaw(name: string, range?: ElementRange): Promise<Uint8Array> {
    const e = this.entry(name);
    const size = DTYPE_SIZE[e.dtype];
    let offset = e.offset;
    let length = e.byteLength;
    if (range) {
      const total = e.byteLength / size;
      if (range.start < 0 || range.count < 0 || range.start + range.count > total) {
        throw new CheckpointError(`element range ${range.start}+${range.count} outside ${total} elements`, {
          file: this.name,
          path: name,
        });
      }
      offset += range.start * size;
      length = range.count * size;
    }
    try {
      return await this.source.read(offset, length);
    } catch (err) {
      throw new CheckpointError(`could not read tensor data (${(err as Error).message})`, {
        file: this.name,
        path: name,
      });
    }
  }

  /**
   * A float tensor (F32 / F16 / BF16 / F64) as float32, into `out` when given (its length must be the element
   * count). F32 data is read straight into `out` when the source supports `readInto`. Other dtypes: `readRaw`.
   */
  async readFloat32(name: string, range?: ElementRange, out?: Float32Array): Promise<Float32Array> {
    const e = this.entry(name);
    if (!isFloatDType(e.dtype)) {
      throw new CheckpointError(`dtype ${e.dtype} is not a float type; read it raw`, {
        file: this.name,
        path: name,
      });
    }
    if (out && e.dtype === "F32" && this.source.readInto && LITTLE_ENDIAN) {
      const total = e.byteLength / 4;
      const start = range?.start ?? 0;
      const count = range?.count ?? total;
      if (out.length !== count || start < 0 || count < 0 || start + count > total) {
        throw new CheckpointError(`output buffer / element range does not fit ${total} elements`, {
          file: this.name,
          path: name,
        });
      }
      try {
        await this.source.readInto(
          e.offset + start * 4,
          new Uint8Array(out.buffer, out.byteOffset, count * 4),
        );
      } catch (err) {
        throw new CheckpointError(`could not read tensor data (${(err as Error).message})`, {
          file: this.name,
          path: name,
        });
      }
      return out;
    }
    return decodeFloat32(e.dtype, await this.readRaw(name, range), out);
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}
