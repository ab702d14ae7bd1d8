/**
 * Lines up the tensors of a base checkpoint and several arms: same names, same shapes, float dtypes. Mismatched
 * shapes are errors naming the tensor; tensors missing from some checkpoint (e.g. an `lm_head` tied to the
 * embeddings in one and not the other) or of non-float dtype are skipped and reported.
 */
import type { TensorSource } from "@m2rl/core";
import { CheckpointError } from "@m2rl/core/errors";

const FLOAT = new Set(["F32", "F16", "BF16", "F64"]);

export interface AlignedTensor {
  name: string;
  shape: number[];
  numel: number;
}

export interface Alignment {
  tensors: AlignedTensor[];
  skipped: { name: string; reason: string }[];
}

export function alignTensors(base: TensorSource, arms: readonly TensorSource[]): Alignment {
  const tensors: AlignedTensor[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const armNames = arms.map((a) => new Set(a.names));
  for (const name of base.names) {
    const b = base.tensor(name);
    if (!FLOAT.has(b.dtype)) {
      skipped.push({ name, reason: `dtype ${b.dtype} is not a float type` });
      continue;
    }
    const missing = arms.filter((_, i) => !armNames[i].has(name));
    if (missing.length > 0) {
      skipped.push({ name, reason: `missing from ${missing.map((m) => m.name).join(", ")}` });
      continue;
    }
    for (const a of arms) {
      const t = a.tensor(name);
      if (t.shape.length !== b.shape.length || t.shape.some((d, i) => d !== b.shape[i])) {
        throw new CheckpointError(`shape [${t.shape}] differs from the base's [${b.shape}] (${base.name})`, {
          file: a.name,
          path: name,
        });
      }
    }
    tensors.push({ name, shape: b.shape, numel: b.shape.reduce((x, y) => x * y, 1) });
  }
  const baseNames = new Set(base.names);
  for (const a of arms) {
    for (const n of a.names)
      if (!baseNames.has(n)) skipped.push({ name: n, reason: `only in ${a.name}, not in the base` });
  }
  return { tensors, skipped };
}
