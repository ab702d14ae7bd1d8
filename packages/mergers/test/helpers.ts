import type { MergeMethod, MergeParamValue, TensorMergeInput } from "@m2rl/core/merge";

/** Runs a method on small arrays with its declared defaults, overridden by `global` and `perModel`. */
export function run(
  method: MergeMethod,
  o: {
    base?: number[];
    models: number[][];
    shape?: number[];
    global?: Record<string, MergeParamValue>;
    perModel?: Record<string, MergeParamValue>[];
    name?: string;
    seed?: number;
    stats?: unknown;
  },
): number[] {
  return [...method.mergeTensor(input(method, o))];
}

export function input(
  method: MergeMethod,
  o: {
    base?: number[];
    models: number[][];
    shape?: number[];
    global?: Record<string, MergeParamValue>;
    perModel?: Record<string, MergeParamValue>[];
    name?: string;
    seed?: number;
    stats?: unknown;
  },
): TensorMergeInput {
  const global: Record<string, MergeParamValue> = {};
  const defaults: Record<string, MergeParamValue> = {};
  for (const d of method.parameters) {
    if (d.default === undefined) continue;
    if (d.scope === "global") global[d.name] = d.default;
    else defaults[d.name] = d.default;
  }
  return {
    name: o.name ?? "model.layers.0.mlp.weight",
    shape: o.shape ?? [o.models[0].length],
    base: o.base ? Float32Array.from(o.base) : undefined,
    models: o.models.map((m) => Float32Array.from(m)),
    params: {
      global: { ...global, ...o.global },
      perModel: o.models.map((_, i) => ({ ...defaults, ...(o.perModel?.[i] ?? {}) })),
    },
    seed: o.seed ?? 0,
    stats: o.stats,
  };
}

export function close(actual: number[], expected: number[], tol = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  actual.forEach((a, i) => {
    if (!(Math.abs(a - expected[i]) <= tol)) {
      throw new Error(
        `index ${i}: got ${a}, expected ${expected[i]} (tol ${tol})\n  actual ${actual}\n  expected ${expected}`,
      );
    }
  });
}
