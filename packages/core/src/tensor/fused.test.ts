/**
 * Fused ops against independent references written as plain loops here (float64), on whatever backend the setup
 * chose: wasm + native kernels in `test`, plain wasm composites in `test-fallback` (M2RL_NATIVE=0). Gradients are
 * checked against central finite differences of the reference.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { Rng } from "../rng/index.ts";
import { FusedAdam } from "./adam.ts";
import { backendInfo } from "./backend.ts";
import {
  fusedLogSoftmax,
  fusedRmsNorm,
  fusedRope,
  fusedSoftmax,
  fusedSwiGLU,
  fusedTokenLogProbs,
  stopGradient,
  withPlainOps,
} from "./fused.ts";

const rng = new Rng(99);
const randArr = (n: number, s = 1) => Array.from({ length: n }, () => (rng.next() * 2 - 1) * s);

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

/** d/dx of sum(f(x) * r) by central differences on a float64 reference f. */
function numGrad(f: (x: number[]) => number[], x: number[], r: number[], h = 1e-4): number[] {
  return x.map((_, i) => {
    const xp = [...x];
    const xm = [...x];
    xp[i]! += h;
    xm[i]! -= h;
    const fp = f(xp);
    const fm = f(xm);
    let s = 0;
    for (let j = 0; j < r.length; j++) s += (fp[j]! - fm[j]!) * r[j]!;
    return s / (2 * h);
  });
}

function gradOf(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, r: number[]): Float32Array {
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), tf.tensor(r, f(a).shape))))(x);
  return g.dataSync() as Float32Array;
}

const rows = 3;
const d = 8;

function refRms(x: number[], w: number[], eps: number) {
  const y: number[] = [];
  for (let r = 0; r < x.length / d; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[r * d + j]! ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) y.push(x[r * d + j]! * inv * w[j]!);
  }
  return y;
}

describe(`fused ops vs loop references (backend: ${backendInfo()?.description ?? "?"})`, () => {
  it("RMSNorm: value, dx and dweight", () => {
    const x = randArr(rows * d, 2);
    const w = randArr(d);
    const r = randArr(rows * d);
    const xt = tf.tensor2d(x, [rows, d]);
    const wt = tf.tensor1d(w);
    close(fusedRmsNorm(xt, wt, 1e-6).dataSync(), refRms(x, w, 1e-6));
    close(
      gradOf((a) => fusedRmsNorm(a, wt, 1e-6), xt, r),
      numGrad((a) => refRms(a, w, 1e-6), x, r),
      2e-3,
    );
    close(
      gradOf((a) => fusedRmsNorm(xt, a, 1e-6), wt, r),
      numGrad((a) => refRms(x, a, 1e-6), w, r),
      2e-3,
    );
  });

  it("SwiGLU: value and both gradients", () => {
    const g = randArr(12, 3);
    const u = randArr(12);
    const r = randArr(12);
    const ref = (gg: number[], uu: number[]) => gg.map((v, i) => (v / (1 + Math.exp(-v))) * uu[i]!);
    const gt = tf.tensor1d(g);
    const ut = tf.tensor1d(u);
    close(fusedSwiGLU(gt, ut).dataSync(), ref(g, u));
    close(
      gradOf((a) => fusedSwiGLU(a, ut), gt, r),
      numGrad((a) => ref(a, u), g, r),
      2e-3,
    );
    close(
      gradOf((a) => fusedSwiGLU(gt, a), ut, r),
      numGrad((a) => ref(g, a), u, r),
      2e-3,
    );
  });

  it("RoPE ([B, H, T, hd], HF rotate_half): value and gradient", () => {
    const [B, H, T, hd] = [2, 2, 3, 4];
    const x = randArr(B * H * T * hd);
    const cos = randArr(T * hd);
    const sin = randArr(T * hd);
    const ref = (xx: number[]) => {
      const y = new Array<number>(xx.length);
      for (let bh = 0; bh < B * H; bh++)
        for (let t = 0; t < T; t++)
          for (let j = 0; j < hd; j++) {
            const o = (bh * T + t) * hd;
            const rot = j < hd / 2 ? -xx[o + j + hd / 2]! : xx[o + j - hd / 2]!;
            y[o + j] = xx[o + j]! * cos[t * hd + j]! + rot * sin[t * hd + j]!;
          }
      return y;
    };
    const r = randArr(x.length);
    const c = tf.tensor2d(cos, [T, hd]);
    const s = tf.tensor2d(sin, [T, hd]);
    const xt = tf.tensor4d(x, [B, H, T, hd]);
    close(fusedRope(xt, c, s).dataSync(), ref(x));
    close(
      gradOf((a) => fusedRope(a, c, s), xt, r),
      numGrad(ref, x, r),
      2e-3,
    );
  });

  it("causal softmax with scale (square and KV-cache shaped) and log-softmax", () => {
    for (const [tq, tk] of [
      [4, 4],
      [2, 5],
    ] as const) {
      const x = randArr(2 * tq * tk, 3);
      const scale = 0.5;
      const ref = (xx: number[], log: boolean) => {
        const y: number[] = [];
        for (let r = 0; r < xx.length / tk; r++) {
          const lim = (r % tq) + tk - tq + 1;
          const z = xx.slice(r * tk, r * tk + lim).map((v) => v * scale);
          const m = Math.max(...z);
          const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
          for (let j = 0; j < tk; j++) {
            if (j < lim) y.push(log ? z[j]! - lse : Math.exp(z[j]! - lse));
            else y.push(log ? Number.NEGATIVE_INFINITY : 0);
          }
        }
        return y;
      };
      const xt = tf.tensor3d(x, [2, tq, tk]);
      close(fusedSoftmax(xt, { scale, causal: true }).dataSync(), ref(x, false));
      const lg = fusedLogSoftmax(xt, { scale, causal: true }).dataSync();
      const lr = ref(x, true);
      for (let i = 0; i < lr.length; i++) {
        if (lr[i] === Number.NEGATIVE_INFINITY) expect(lg[i]).toBe(Number.NEGATIVE_INFINITY);
        else expect(Math.abs(lg[i]! - lr[i]!)).toBeLessThan(1e-4);
      }
      const r = randArr(x.length);
      close(
        gradOf((a) => fusedSoftmax(a, { scale, causal: true }), xt, r),
        numGrad((a) => ref(a, false), x, r),
        2e-3,
      );
    }
  });

  it("token log-probs: value and gradient (closed form: onehot - softmax)", () => {
    const V = 5;
    const z = randArr(3 * V, 3);
    const ids = [4, 0, 2];
    const ref = (zz: number[]) =>
      ids.map((id, r) => {
        const row = zz.slice(r * V, (r + 1) * V);
        const m = Math.max(...row);
        return row[id]! - m - Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      });
    const zt = tf.tensor2d(z, [3, V]);
    const it = tf.tensor1d(ids, "int32");
    close(fusedTokenLogProbs(zt, it).dataSync(), ref(z));
    const r = [1, -2, 0.5];
    close(
      gradOf((a) => fusedTokenLogProbs(a, it), zt, r),
      numGrad(ref, z, r),
      2e-3,
    );
  });

  it("fused and plain paths agree (and the plain path needs no custom kernel)", () => {
    const x = tf.tensor3d(randArr(2 * 3 * 3, 2), [2, 3, 3]);
    const a = fusedSoftmax(x, { causal: true, scale: 2 }).dataSync();
    const b = withPlainOps(() => fusedSoftmax(x, { causal: true, scale: 2 })).dataSync();
    close(a, b, 1e-5);
  });

  it("stopGradient: identity forward, zero gradient", () => {
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, stopGradient(a))))(x);
    expect(Array.from(stopGradient(x).dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(g.dataSync())).toEqual([1, 2, 3]); // d/da (a * const a) = a
  });

  it("FusedAdam: two steps equal the torch.optim.Adam formula computed by hand", () => {
    const p0 = [0.5, -1, 2];
    const grads = [
      [0.1, -0.2, 0.3],
      [-0.3, 0.1, 0.0],
    ];
    const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 1e-8];
    const p = [...p0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, s) => {
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        const mh = m[i]! / (1 - b1 ** (s + 1));
        const vh = v[i]! / (1 - b2 ** (s + 1));
        p[i] = p[i]! - (lr * mh) / (Math.sqrt(vh) + eps);
      }
    });
    const w = tf.variable(tf.tensor1d(p0));
    const opt = new FusedAdam({ learningRate: lr });
    for (const g of grads) opt.applyGradients({ w: tf.tensor1d(g) }, { w });
    close(w.dataSync(), p, 1e-5);
    expect(opt.getState().step).toBe(2);
    opt.dispose();
  });

  it("FusedAdam with weightDecay: one step equals torch.optim.AdamW by hand", () => {
    const [lr, wd, g] = [0.1, 0.5, 0.2];
    // AdamW: p *= 1 - lr*wd; m̂ = g, v̂ = g², p -= lr * m̂ / (sqrt(v̂) + eps)
    const expected = 2 * (1 - lr * wd) - (lr * g) / (Math.abs(g) + 1e-8);
    const w = tf.variable(tf.tensor1d([2]));
    const opt = new FusedAdam({ learningRate: lr, weightDecay: wd });
    opt.applyGradients({ w: tf.tensor1d([g]) }, { w });
    close(w.dataSync(), [expected], 1e-5);
  });
});

describe("wasm backend fixes", () => {
  it("oneHot honours a float32 dtype", () => {
    const y = tf.oneHot(tf.tensor1d([2, 0], "int32"), 3, 1, 0, "float32");
    expect(y.dtype).toBe("float32");
    expect(Array.from(y.dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it("fused matMul adds the bias to every row", () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, 1, 0, 1, 0], [2, 3]);
    const y = tf.fused.matMul({ a, b, transposeB: true, bias: tf.tensor1d([10, 20]) });
    expect(Array.from(y.dataSync())).toEqual([14, 22, 20, 25]);
  });

  it("gather has a gradient (UnsortedSegmentSum) that sums repeated rows", () => {
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.gather(x, tf.tensor1d([0, 2, 0], "int32"))))(t);
    expect(Array.from(g.dataSync())).toEqual([2, 2, 0, 0, 1, 1]);
  });

  it("matMul of [B, T, d] by a shared [n, d] weight has gradients of the operands' shapes", () => {
    const x = tf.tensor3d(randArr(2 * 3 * 4), [2, 3, 4]);
    const w = tf.tensor2d(randArr(5 * 4), [5, 4]);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b, false, true)))([x, w]);
    expect(gx!.shape).toEqual([2, 3, 4]);
    expect(gw!.shape).toEqual([5, 4]);
    // d/dW sum(x Wᵀ) = column sums of x over all rows, for every output row
    const colSums = [0, 1, 2, 3].map((j) => {
      let s = 0;
      const xs = x.dataSync();
      for (let r = 0; r < 6; r++) s += xs[r * 4 + j]!;
      return s;
    });
    close(
      gw!.dataSync(),
      [0, 1, 2, 3, 4].flatMap(() => colSums),
      1e-5,
    );
  });
});

describe("wasm GatherV2 replacement", () => {
  it("gathers rows and inner slices like a loop reference, and rejects bad indices", () => {
    const x = tf.tensor3d(
      Array.from({ length: 24 }, (_, i) => i),
      [2, 3, 4],
    );
    const y0 = tf.gather(x, tf.tensor1d([1, 1, 0], "int32"), 0);
    expect(y0.shape).toEqual([3, 3, 4]);
    expect(Array.from(y0.dataSync()).slice(0, 4)).toEqual([12, 13, 14, 15]);
    const y1 = tf.gather(x, tf.tensor2d([2, 0], [1, 2], "int32"), 1);
    expect(y1.shape).toEqual([2, 1, 2, 4]);
    // y1[p, 0, i, j] = x[p, idx[i], j]
    expect(Array.from(y1.dataSync())).toEqual([8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15]);
    expect(() => tf.gather(x, tf.tensor1d([3], "int32"), 1).dataSync()).toThrow(/outside/);
  });
});

describe("wasm Transpose / Sum / Identity replacements vs loop references", () => {
  const x = tf.tensor4d(
    Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i * 0.5 - 7),
    [2, 3, 4, 5],
  );
  const xs = Array.from(x.dataSync());
  const at = (i: number, j: number, k: number, l: number) => xs[((i * 3 + j) * 4 + k) * 5 + l]!;

  it("transposes with every kind of permutation", () => {
    for (const perm of [
      [0, 2, 1, 3],
      [3, 2, 1, 0],
      [1, 0, 3, 2],
      [0, 1, 3, 2],
    ]) {
      const y = tf.transpose(x, perm);
      const ys = y.dataSync();
      const shape = y.shape;
      let n = 0;
      const idx = [0, 0, 0, 0];
      for (idx[0] = 0; idx[0] < shape[0]!; idx[0]++)
        for (idx[1] = 0; idx[1] < shape[1]!; idx[1]++)
          for (idx[2] = 0; idx[2] < shape[2]!; idx[2]++)
            for (idx[3] = 0; idx[3] < shape[3]!; idx[3]++) {
              const src = [0, 0, 0, 0];
              perm.forEach((p, a) => {
                src[p] = idx[a]!;
              });
              expect(ys[n++]).toBe(at(src[0]!, src[1]!, src[2]!, src[3]!));
            }
    }
  });

  it("sums over leading axes, trailing axes (keepDims) and middle axes", () => {
    const s01 = tf.sum(x, [0, 1]).dataSync();
    const s3 = tf.sum(x, -1, true);
    const s12 = tf.sum(x, [1, 2]).dataSync();
    for (let k = 0; k < 4; k++)
      for (let l = 0; l < 5; l++) {
        let a = 0;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) a += at(i, j, k, l);
        expect(s01[k * 5 + l]).toBeCloseTo(a, 4);
      }
    expect(s3.shape).toEqual([2, 3, 4, 1]);
    expect(s3.dataSync()[0]).toBeCloseTo(
      at(0, 0, 0, 0) + at(0, 0, 0, 1) + at(0, 0, 0, 2) + at(0, 0, 0, 3) + at(0, 0, 0, 4),
      4,
    );
    let m = 0;
    for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) m += at(1, j, k, 2);
    expect(s12[5 + 2]).toBeCloseTo(m, 4);
  });

  it("clone shares nothing observable: disposing the source keeps the clone", () => {
    const a = tf.tensor1d([1, 2, 3]);
    const c = tf.clone(a);
    a.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    c.dispose();
  });
});
