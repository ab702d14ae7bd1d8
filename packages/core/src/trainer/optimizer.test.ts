import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { learningRate } from "./lr-schedule.ts";
import { AdamW, clipCoefficient, globalNorm } from "./optimizer.ts";
import { useCpuBackend } from "./testing/backend.ts";

beforeAll(useCpuBackend);

describe("Adam / AdamW", () => {
  it("two AdamW steps match a hand computation", () => {
    const p = tf.variable(tf.tensor1d([1, -2]), true, "p_adamw");
    const opt = new AdamW(new Map([["w", p]]), { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
    // step 1, g = [0.5, -1]: m = 0.1g, v = 0.01g², m̂ = g, v̂ = g² → update = sign(g) (up to eps)
    // θ = θ(1 - 0.1·0.1) - 0.1·sign(g) = [0.99 - 0.1, -1.98 + 0.1] = [0.89, -1.88]
    opt.apply({ w: tf.tensor1d([0.5, -1]) }, 0.1);
    const a = p.dataSync();
    expect(a[0]).toBeCloseTo(0.89, 6);
    expect(a[1]).toBeCloseTo(-1.88, 6);
    // step 2, g = [1, 0]: m = [0.9·0.05 + 0.1, -0.09] = [0.145, -0.09]; v = [0.99·0.0025 + 0.01, 0.0099]
    // m̂ = m / 0.19, v̂ = v / 0.0199
    const m1 = 0.145 / 0.19;
    const v1 = (0.99 * 0.0025 + 0.01) / 0.0199;
    const m2 = -0.09 / 0.19;
    const v2 = 0.0099 / 0.0199;
    opt.apply({ w: tf.tensor1d([1, 0]) }, 0.1);
    const b = p.dataSync();
    expect(b[0]).toBeCloseTo(0.89 * 0.99 - (0.1 * m1) / (Math.sqrt(v1) + 1e-8), 6);
    expect(b[1]).toBeCloseTo(-1.88 * 0.99 - (0.1 * m2) / (Math.sqrt(v2) + 1e-8), 6);
    expect(opt.step).toBe(2);
  });
  it("Adam with L2 decay adds λθ to the gradient", () => {
    const p = tf.variable(tf.tensor1d([2]), true, "p_adam_l2");
    const opt = new AdamW(new Map([["w", p]]), {
      beta1: 0.9,
      beta2: 0.999,
      weightDecay: 0.5,
      decoupled: false,
    });
    // g' = 1 + 0.5·2 = 2; first step update = sign(g') = 1 → θ = 2 - 0.01
    opt.apply({ w: tf.tensor1d([1]) }, 0.01);
    expect(p.dataSync()[0]).toBeCloseTo(1.99, 6);
  });
  it("state export / import continues the exact trajectory", () => {
    const mk = (name: string) => tf.variable(tf.tensor1d([0.3, -0.7, 1.1]), true, name);
    const g = [tf.tensor1d([0.2, -0.1, 0.05]), tf.tensor1d([-0.3, 0.4, 0.1]), tf.tensor1d([0.1, 0.1, -0.2])];
    const pa = mk("pa");
    const a = new AdamW(new Map([["w", pa]]));
    for (const x of g) a.apply({ w: x }, 0.01);
    const pb = mk("pb");
    const b = new AdamW(new Map([["w", pb]]));
    b.apply({ w: g[0] }, 0.01);
    const saved = b.exportState();
    const pc = tf.variable(tf.tensor(pb.dataSync()), true, "pc");
    const c = new AdamW(new Map([["w", pc]]));
    c.importState(saved);
    c.apply({ w: g[1] }, 0.01);
    c.apply({ w: g[2] }, 0.01);
    expect(Array.from(pc.dataSync())).toEqual(Array.from(pa.dataSync()));
    expect(c.step).toBe(3);
  });
  it("rejects a state with missing or mis-sized slots", () => {
    const p = tf.variable(tf.tensor1d([1, 2]), true, "p_bad");
    const opt = new AdamW(new Map([["w", p]]));
    expect(() => opt.importState({ step: 1, m: new Map(), v: new Map() })).toThrow(/no m/);
    const bad = new Map([["w", new Float32Array(3)]]);
    expect(() => opt.importState({ step: 1, m: bad, v: bad })).toThrow(/3 values/);
  });
});

describe("gradient clipping", () => {
  it("global norm and torch's clip coefficient", () => {
    expect(globalNorm({ a: tf.tensor1d([3]), b: tf.tensor2d([[4, 0]]) })).toBeCloseTo(5, 6);
    expect(clipCoefficient(5, 1)).toBeCloseTo(1 / (5 + 1e-6), 9);
    expect(clipCoefficient(0.5, 1)).toBe(1);
  });
});

describe("learning-rate schedule", () => {
  const base = { lr: 1, warmupSteps: 4, totalSteps: 14, minLr: 0.1 };
  it("warm-up then constant / linear / cosine", () => {
    expect(learningRate(0, { ...base, decay: "constant" })).toBeCloseTo(0.25, 12);
    expect(learningRate(3, { ...base, decay: "constant" })).toBeCloseTo(1, 12);
    expect(learningRate(9, { ...base, decay: "constant" })).toBe(1);
    expect(learningRate(9, { ...base, decay: "linear" })).toBeCloseTo(0.1 + 0.9 * 0.5, 12); // p = 5/10
    expect(learningRate(9, { ...base, decay: "cosine" })).toBeCloseTo(0.1 + 0.9 * 0.5, 12); // cos(π/2) = 0
    expect(learningRate(14, { ...base, decay: "cosine" })).toBeCloseTo(0.1, 12);
    expect(learningRate(99, { ...base, decay: "linear" })).toBeCloseTo(0.1, 12);
  });
});
