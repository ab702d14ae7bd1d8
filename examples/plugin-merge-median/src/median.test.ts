import type { TensorMergeInput } from "@m2rl/core/merge";
import { PluginHost } from "@m2rl/core/plugin";
import { describe, expect, it } from "vitest";
import plugin, { median, medianMerge } from "./index.ts";

const f32 = (xs: number[]) => Float32Array.from(xs);

function input(base: number[], models: number[][], lambda = 1, offset = 0): TensorMergeInput {
  return {
    name: "model.layers.0.mlp.up_proj.weight",
    shape: [base.length],
    base: f32(base),
    models: models.map(f32),
    params: { global: { lambda }, perModel: models.map(() => ({})) },
    seed: 0,
    offset,
  };
}

describe("median merge method", () => {
  it("adds lambda times the element-wise median of the task vectors to the base (hand-computed)", () => {
    const base = [1, 0, -2, 0.5];
    // task vectors: [0.5, 1, 0, -1], [0.25, -2, 4, 0], [1, 3, 0, 1] -> medians [0.5, 1, 0, 0]
    const models = [
      [1.5, 1, -2, -0.5],
      [1.25, -2, 2, 0.5],
      [2, 3, -2, 1.5],
    ];
    expect([...median.mergeTensor(input(base, models))]).toEqual([1.5, 1, -2, 0.5]);
    // lambda 0.5: base + median / 2
    expect([...median.mergeTensor(input(base, models, 0.5))]).toEqual([1.25, 0.5, -2, 0.5]);
    // two models: the mean of the two middle (= both) task vectors: [0.375, -0.5, 2, -0.5]
    expect([...median.mergeTensor(input(base, models.slice(0, 2)))]).toEqual([1.375, -0.5, 0, 0]);
    // one model: that model
    expect([...median.mergeTensor(input(base, models.slice(2)))]).toEqual(models[2]);
  });

  it("does not depend on the order of the models; NaN in an input gives NaN there", () => {
    const base = f32([0, 0, 0]);
    const a = f32([3, -1, 2]);
    const b = f32([1, 5, Number.NaN]);
    const c = f32([2, 0, 1]);
    const abc = [...medianMerge(base, [a, b, c], 1)];
    expect(abc).toEqual([2, 0, Number.NaN]);
    expect([...medianMerge(base, [c, a, b], 1)]).toEqual(abc);
    expect([...medianMerge(base, [b, c, a], 1)]).toEqual(abc);
  });

  it("is chunkable: merging a range gives that range of the whole result", () => {
    const n = 1000;
    const rnd = (k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * (k + 1) * 0.37) * (k + 1));
    const base = rnd(0);
    const models = [rnd(1), rnd(2), rnd(3), rnd(4)];
    const whole = median.mergeTensor(input(base, models, 0.7));
    for (const [start, end] of [
      [0, 256],
      [256, 700],
      [700, 1000],
    ]) {
      const part = median.mergeTensor(
        input(
          base.slice(start, end),
          models.map((m) => m.slice(start, end)),
          0.7,
          start,
        ),
      );
      expect([...part]).toEqual([...whole.subarray(start, end)]);
    }
    expect(median.chunkable).toBe(true);
  });

  it("registers `median` in a plugin host, with its parameters and options schema", () => {
    const host = new PluginHost([plugin]);
    expect(host.registry.mergeMethods.get("median")).toBe(median);
    expect(host.registry.mergeMethods.owner("median")).toBe("m2rl-plugin-merge-median");
    expect(host.validateOptions(plugin.name, median.optionsSchema, { lambda: 0.5 })).toEqual([]);
    expect(host.validateOptions(plugin.name, median.optionsSchema, { lamda: 0.5 })).not.toEqual([]);
  });
});
