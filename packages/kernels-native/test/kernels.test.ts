/**
 * Every native kernel against the plain TensorFlow.js kernel (or composite) it replaces, forward and gradient, on
 * seeded random inputs. Plain BatchMatMul / _FusedMatMul are the wasm backend's own (pack uninstalled); the fused
 * ops' reference is their plain-op composite (`withPlainOps`), which tfjs differentiates itself.
 * With M2RL_NATIVE=0 (test-fallback) or without the addon these tests are skipped and fallback.test.ts runs.
 */
import {
  activeKernelPack,
  FusedAdam,
  fusedLogSoftmax,
  fusedRmsNorm,
  fusedRope,
  fusedSoftmax,
  fusedSwiGLU,
  fusedTokenLogProbs,
  initBackend,
  Rng,
  registerKernelPack,
  tf,
  withPlainOps,
} from "@m2rl/core";
import { beforeAll, describe, expect, it } from "vitest";
import { loadNativePack } from "../src/index.ts";

const loaded = loadNativePack();
const enabled = process.env["M2RL_NATIVE"] !== "0" && "pack" in loaded;

const rng = new Rng(1234);
function rand(shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (rng.next() * 2 - 1) * scale;
  return tf.tensor(v, shape);
}

function maxRelErr(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!) / (1e-3 + Math.abs(y[i]!));
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/** Runs f with the native pack uninstalled (plain wasm kernels), then reinstalls it. */
function plainWasm<T>(f: () => T): T {
  const pack = activeKernelPack()!;
  pack.uninstall();
  try {
    return f();
  } finally {
    pack.install();
  }
}

/** value and gradients of sum(f(xs) * r) for a fixed random r. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], r: tf.Tensor) {
  const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)));
  return { y: f(...xs), dx: g(xs) };
}

// Under CI (native not disabled on purpose) the pack must be there: these tests must not skip silently.
it.runIf(process.env.CI === "true" && process.env["M2RL_NATIVE"] !== "0")(
  "CI built the native kernel pack",
  () => {
    expect("pack" in loaded, `native addon not loaded under CI: ${JSON.stringify(loaded)}`).toBe(true);
  },
);

describe.skipIf(!enabled)("native kernel pack vs plain tfjs", () => {
  beforeAll(async () => {
    if ("pack" in loaded) registerKernelPack(loaded.pack);
    const info = await initBackend({ prefer: "wasm-native", log: null });
    expect(info.choice).toBe("wasm-native");
    expect(info.kernelPack?.kernels).toContain("BatchMatMul");
  });

  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [7, 5], b: [5, 3], ta: false, tb: false },
    { a: [5, 7], b: [5, 3], ta: true, tb: false },
    { a: [7, 5], b: [3, 5], ta: false, tb: true },
    { a: [5, 7], b: [3, 5], ta: true, tb: true },
    { a: [4, 6, 8], b: [4, 8, 3], ta: false, tb: false },
    { a: [4, 6, 8], b: [8, 3], ta: false, tb: false }, // right operand broadcast (stride 0)
    { a: [4, 6, 8], b: [3, 8], ta: false, tb: true }, // linear layer: x Wᵀ
    { a: [6, 8], b: [2, 3, 8, 5], ta: false, tb: false }, // left operand broadcast
    { a: [2, 3, 8, 6], b: [1, 3, 8, 5], ta: true, tb: false },
    { a: [2, 3, 6, 8], b: [3, 5, 8], ta: false, tb: true },
  ];
  for (const c of cases) {
    it(`BatchMatMul ${JSON.stringify(c.a)}${c.ta ? "ᵀ" : ""} x ${JSON.stringify(c.b)}${c.tb ? "ᵀ" : ""}: value and grads`, () => {
      const a = rand(c.a);
      const b = rand(c.b);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.ta, c.tb);
      const outShape = f(a, b).shape;
      const r = rand(outShape);
      const nat = valueAndGrads(f, [a, b], r);
      const ref = plainWasm(() => valueAndGrads(f, [a, b], r));
      expect(maxRelErr(nat.y, ref.y)).toBeLessThan(1e-4);
      expect(maxRelErr(nat.dx[0]!, ref.dx[0]!)).toBeLessThan(1e-4);
      expect(maxRelErr(nat.dx[1]!, ref.dx[1]!)).toBeLessThan(1e-4);
    });
  }

  it("BatchMatMul agrees with a hand-computed product", () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, 2, 1, 0, -1], [3, 2]);
    expect(Array.from(tf.matMul(a, b).dataSync())).toEqual([5, -1, 14, -1]);
    expect(Array.from(tf.matMul(a, a, false, true).dataSync())).toEqual([14, 32, 32, 77]);
  });

  it("_FusedMatMul with bias (linear) matches plain wasm, value and grads", () => {
    const x = rand([6, 8]);
    const w = rand([5, 8]);
    const bias = rand([5]);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias: c });
    const r = rand([6, 5]);
    const nat = valueAndGrads(f, [x, w, bias], r);
    const ref = plainWasm(() => valueAndGrads(f, [x, w, bias], r));
    expect(maxRelErr(nat.y, ref.y)).toBeLessThan(1e-4);
    for (let i = 0; i < 3; i++) expect(maxRelErr(nat.dx[i]!, ref.dx[i]!)).toBeLessThan(1e-4);
    // independent reference: product plus bias with separate ops
    expect(maxRelErr(nat.y, tf.add(tf.matMul(x, w, false, true), bias))).toBeLessThan(1e-5);
    // relu is not native: falls back to the (fixed) wasm kernel
    const relu = tf.fused.matMul({
      a: x as tf.Tensor2D,
      b: w as tf.Tensor2D,
      transposeB: true,
      bias,
      activation: "relu",
    });
    expect(maxRelErr(relu, tf.relu(tf.add(tf.matMul(x, w, false, true), bias)))).toBeLessThan(1e-5);
  });

  it("BatchMatMul gradient with a broadcast operand equals the gradient against the tiled operand", () => {
    const a = rand([3, 4, 5]);
    const w = rand([6, 5]);
    const r = rand([3, 4, 6]);
    const g1 = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), r)))([
      a,
      w,
    ]);
    const g2 = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x, tf.tile(tf.expandDims(y, 0), [3, 1, 1]), false, true), r)),
    )([a, w]);
    expect(maxRelErr(g1[0]!, g2[0]!)).toBeLessThan(1e-4);
    expect(maxRelErr(g1[1]!, g2[1]!)).toBeLessThan(1e-4);
  });

  it("Transpose: every permutation of a rank-4 tensor matches the wasm kernel", () => {
    const x = rand([2, 3, 4, 5]);
    for (const perm of [
      [0, 2, 1, 3],
      [3, 2, 1, 0],
      [1, 0, 3, 2],
      [0, 1, 3, 2],
      [2, 3, 0, 1],
    ]) {
      const nat = tf.transpose(x, perm);
      const ref = plainWasm(() => tf.transpose(x, perm));
      expect(nat.shape).toEqual(ref.shape);
      expect(Array.from(nat.dataSync())).toEqual(Array.from(ref.dataSync()));
    }
  });

  /** fused vs plain-composite, value and gradient w.r.t. every float input. */
  function compareFused(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], tol = 1e-4) {
    const outShape = f(...xs).shape;
    const r = rand(outShape);
    const nat = valueAndGrads(f, xs, r);
    const ref = withPlainOps(() => valueAndGrads(f, xs, r));
    expect(maxRelErr(nat.y, ref.y)).toBeLessThan(tol);
    for (let i = 0; i < xs.length; i++) expect(maxRelErr(nat.dx[i]!, ref.dx[i]!)).toBeLessThan(tol);
    return nat;
  }

  it("RMSNorm (3-D input, weight gradient summed over rows)", () => {
    compareFused((x, w) => fusedRmsNorm(x, w, 1e-6), [rand([3, 5, 16]), rand([16])]);
  });

  it("SwiGLU", () => {
    compareFused((g, u) => fusedSwiGLU(g, u), [rand([4, 7, 12], 4), rand([4, 7, 12])]);
  });

  it("RoPE on [B, H, T, hd] and on [B, T, H, hd] (seqAxis 1)", () => {
    const cos = rand([6, 8]);
    const sin = rand([6, 8]);
    compareFused((x) => fusedRope(x, cos, sin), [rand([2, 3, 6, 8])]);
    compareFused((x) => fusedRope(x, cos, sin, 1), [rand([2, 6, 3, 8])]);
  });

  it("softmax / log-softmax, scaled, plain and causal (also with a KV cache: Tk > Tq)", () => {
    for (const causal of [false, true]) {
      compareFused((x) => fusedSoftmax(x, { scale: 0.35, causal }), [rand([2, 3, 5, 5], 3)]);
      compareFused((x) => fusedSoftmax(x, { scale: 0.35, causal }), [rand([2, 3, 2, 7], 3)]);
    }
    compareFused((x) => fusedLogSoftmax(x), [rand([6, 11], 5)]);
    const y = fusedSoftmax(rand([1, 1, 3, 3]), { causal: true }).dataSync();
    expect(y[0]).toBeCloseTo(1, 6);
    expect([y[1], y[2], y[5]]).toEqual([0, 0, 0]);
  });

  it("token log-probs: value and gradient w.r.t. logits", () => {
    const logits = rand([3, 4, 9], 4);
    const ids = tf.tensor2d([0, 8, 3, 3, 1, 2, 7, 5, 4, 6, 0, 1], [3, 4], "int32");
    compareFused((l) => fusedTokenLogProbs(l, ids), [logits]);
    // closed form for one row: log softmax(z)[k] = z_k - log Σ exp z
    const z = [1, 2, 3];
    const lp = fusedTokenLogProbs(tf.tensor2d([z]), tf.tensor1d([2], "int32")).dataSync()[0]!;
    expect(lp).toBeCloseTo(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), 5);
  });

  it("Adam: fused kernel matches the plain-op update and tf.train.adam over 3 steps", () => {
    const init = rand([5, 7]);
    const pf = tf.variable(tf.clone(init));
    const pt = tf.variable(tf.clone(init));
    const fusedOpt = new FusedAdam({ learningRate: 0.01 });
    const tfOpt = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
    for (let s = 0; s < 3; s++) {
      const g = rand([5, 7]);
      fusedOpt.applyGradients({ p: g }, { p: pf });
      tfOpt.applyGradients([{ name: pt.name, tensor: g }]);
    }
    expect(maxRelErr(pf, pt)).toBeLessThan(1e-4);
    expect(tf.max(tf.abs(tf.sub(pf, init))).dataSync()[0]).toBeGreaterThan(0.01);
  });

  it("Adam with decoupled weight decay: fused kernel matches the plain-op path", () => {
    const init = rand([4, 6]);
    const pf = tf.variable(tf.clone(init));
    const pp = tf.variable(tf.clone(init));
    const a = new FusedAdam({ learningRate: 0.05, weightDecay: 0.1 });
    const b = new FusedAdam({ learningRate: 0.05, weightDecay: 0.1 });
    for (let s = 0; s < 3; s++) {
      const g = rand([4, 6]);
      a.applyGradients({ p: g }, { p: pf });
      withPlainOps(() => b.applyGradients({ p: g }, { p: pp }));
    }
    expect(maxRelErr(pf, pp)).toBeLessThan(1e-4);
  });
});
