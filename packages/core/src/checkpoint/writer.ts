/**
 * Streaming safetensors writer: the tensor list is declared first (so the header can be written), then each
 * tensor's data is written in declaration order. Nothing is visible until `finish` commits the sink.
 */
import { CheckpointError } from "../errors/index.ts";
import type { ByteSink } from "../io/index.ts";
import { DTYPE_SIZE, encodeFloat32, isFloatDType, numel } from "./dtype.ts";
import { encodeHeader, type TensorSpec } from "./header.ts";

export class SafetensorsWriter {
  private next = 0;
  /** Bytes of tensor `next` written so far by `writePart`. */
  private partial = 0;
  private done = false;

  private constructor(
    private readonly sink: ByteSink,
    readonly tensors: readonly TensorSpec[],
  ) {}

  /** Writes the header for `tensors` (in this order) to `sink`. */
  static async create(
    sink: ByteSink,
    tensors: readonly TensorSpec[],
    metadata?: Record<string, string>,
  ): Promise<SafetensorsWriter> {
    const header = encodeHeader(tensors, metadata);
    const w = new SafetensorsWriter(
      sink,
      tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })),
    );
    try {
      await sink.write(header);
    } catch (err) {
      await sink.abort();
      throw err;
    }
    return w;
  }

  get name(): string {
    return this.sink.name;
  }

  /** Name of the tensor expected next, or undefined when all were written. */
  expected(): string | undefined {
    return this.tensors[this.next]?.name;
  }

  /**
   * Writes the next tensor. Float32Array data is converted to the declared float dtype (round to nearest even);
   * Uint8Array data is taken as raw bytes of the declared dtype.
   */
  async write(name: string, data: Float32Array | Uint8Array): Promise<void> {
    const spec = this.expectNext(name);
    const bytes = toBytes(spec, data, this.name);
    const expected = numel(spec.shape) * DTYPE_SIZE[spec.dtype];
    if (this.partial !== 0 || bytes.byteLength !== expected) {
      throw new CheckpointError(`got ${bytes.byteLength} bytes, expected ${expected}`, {
        file: this.name,
        path: name,
      });
    }
    await this.sink.write(bytes);
    this.next++;
  }

  /**
   * Writes the next part of the next tensor (the tensor is complete when its parts add up to its size; parts are
   * whole elements). Float32Array parts are converted like `write`'s data. Lets a caller stream a tensor that it
   * never holds whole.
   */
  async writePart(name: string, data: Float32Array | Uint8Array): Promise<void> {
    const spec = this.expectNext(name);
    const bytes = toBytes(spec, data, this.name);
    const expected = numel(spec.shape) * DTYPE_SIZE[spec.dtype];
    if (this.partial + bytes.byteLength > expected || bytes.byteLength % DTYPE_SIZE[spec.dtype] !== 0) {
      throw new CheckpointError(
        `part of ${bytes.byteLength} bytes does not fit (${this.partial} of ${expected} written)`,
        { file: this.name, path: name },
      );
    }
    await this.sink.write(bytes);
    this.partial += bytes.byteLength;
    if (this.partial === expected) {
      this.partial = 0;
      this.next++;
    }
  }

  /** Whether a tensor was started with `writePart` and not completed. */
  inTensor(): boolean {
    return this.partial > 0;
  }

  private expectNext(name: string): TensorSpec {
    const spec = this.tensors[this.next];
    if (!spec || spec.name !== name) {
      throw new CheckpointError(
        `tensor written out of order (expected ${spec ? spec.name : "no more tensors"})`,
        {
          file: this.name,
          path: name,
        },
      );
    }
    return spec;
  }

  /** Commits the file; fails when some declared tensor was not written. */
  async finish(): Promise<void> {
    if (this.done) return;
    if (this.next !== this.tensors.length) {
      const missing = this.tensors[this.next].name;
      await this.abort();
      throw new CheckpointError("file closed before all declared tensors were written", {
        file: this.name,
        path: missing,
      });
    }
    this.done = true;
    await this.sink.commit();
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.sink.abort();
  }
}

function toBytes(spec: TensorSpec, data: Float32Array | Uint8Array, file: string): Uint8Array {
  if (data instanceof Float32Array) {
    if (!isFloatDType(spec.dtype)) {
      throw new CheckpointError(`float data given for ${spec.dtype} tensor`, { file, path: spec.name });
    }
    return encodeFloat32(spec.dtype, data);
  }
  return data;
}
