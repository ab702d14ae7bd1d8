/** An in-memory TensorSource (tests, tiny policies held in memory, a Policy's exported weights). */
import type { TensorRange, TensorSource } from "@m2rl/core";
import { CheckpointError } from "@m2rl/core/errors";

export interface MemoryTensor {
  shape: number[];
  data: Float32Array;
}

export class MemoryTensorSource implements TensorSource {
  readonly names: readonly string[];
  /** Elements handed out so far (tests use it to check that reads are chunked). */
  maxReadElements = 0;

  constructor(
    private readonly tensors: ReadonlyMap<string, MemoryTensor>,
    readonly name = "<memory>",
  ) {
    for (const [n, t] of tensors) {
      const numel = t.shape.reduce((a, b) => a * b, 1);
      if (numel !== t.data.length) {
        throw new CheckpointError(`shape [${t.shape}] has ${numel} elements but data has ${t.data.length}`, {
          file: name,
          path: n,
        });
      }
    }
    this.names = [...tensors.keys()];
  }

  tensor(name: string): { shape: number[]; dtype: string } {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError("tensor not found", { file: this.name, path: name });
    return { shape: t.shape, dtype: "F32" };
  }

  async readFloat32(name: string, range?: TensorRange): Promise<Float32Array> {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError("tensor not found", { file: this.name, path: name });
    const start = range?.start ?? 0;
    const count = range?.count ?? t.data.length - start;
    if (start < 0 || count < 0 || start + count > t.data.length) {
      throw new CheckpointError(`range ${start}+${count} outside ${t.data.length} elements`, {
        file: this.name,
        path: name,
      });
    }
    this.maxReadElements = Math.max(this.maxReadElements, count);
    return t.data.slice(start, start + count);
  }
}
