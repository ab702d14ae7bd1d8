import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { stopGradient } from "../tensor/fused.ts";
import { groupAdvantages, informativeGroups, overlongPenalty } from "./advantages.ts";
import { aggregate, clippedPgLoss, klEstimate, policyLoss, truncatedIsWeight } from "./losses.ts";
import { useCpuBackend } from "./testing/backend.ts";

beforeAll(useCpuBackend);

const t2 = (x: number[][]) => tf.tensor2d(x);
const arr = (x: tf.Tensor) => Array.from(x.dataSync());

describe("group advantages", () => {
  it("normalises by the unbiased group std plus 1e-6", () => {
    // mean 0.5, sample std sqrt(1/3) = 0.5773503; 0.5 / (0.5773503 + 1e-6) = 0.8660239
    const a = groupAdvantages([1, 0, 0, 1, 1, 1, 1, 1], 4);
    expect(a[0]).toBeCloseTo(0.8660239, 6);
    expect(a[1]).toBeCloseTo(-0.8660239, 6);
    expect(a.slice(4)).toEqual([0, 0, 0, 0]);
  });
  it("population std and Dr. GRPO (no std)", () => {
    expect(groupAdvantages([1, 0, 0, 1], 4, { stdKind: "population" })[0]).toBeCloseTo(0.5 / 0.500001, 9);
    expect(groupAdvantages([1, 0, 0, 0], 4, { normalizeStd: false })).toEqual([0.75, -0.25, -0.25, -0.25]);
  });
  it("rejects a ragged batch", () => {
    expect(() => groupAdvantages([1, 0, 1], 2)).toThrow(/multiple/);
  });
  it("dynamic sampling keeps groups with differing rewards", () => {
    expect(informativeGroups([1, 1, 0, 1, 0, 0, 0.5, 0.5], 2)).toEqual([1]);
    expect(informativeGroups([1, 1, 0, 1, 0, 0], 3)).toEqual([0, 1]);
  });
});

describe("overlong penalty (DAPO)", () => {
  const o = { maxLength: 20, cacheLength: 5, factor: 1 };
  it("is 0, linear, then -1", () => {
    expect(overlongPenalty(15, o)).toBe(0);
    expect(overlongPenalty(18, o)).toBeCloseTo(-0.6, 12); // (15 - 18) / 5
    expect(overlongPenalty(20, o)).toBeCloseTo(-1, 12);
    expect(overlongPenalty(21, o)).toBe(-1);
    expect(overlongPenalty(18, { ...o, factor: 0.5 })).toBeCloseTo(-0.3, 12);
  });
});

describe("clipped policy-gradient loss", () => {
  it("matches hand values with asymmetric clipping", () => {
    // ratios 1.5, 1.5, 0.5, 0.5 with A = +1, -1, -1, +1 and eps_low 0.2, eps_high 0.28
    const old = t2([[0, 0, 0, 0]]);
    const logp = t2([[Math.log(1.5), Math.log(1.5), Math.log(0.5), Math.log(0.5)]]);
    const adv = t2([[1, -1, -1, 1]]);
    const r = clippedPgLoss(logp, old, adv, { epsLow: 0.2, epsHigh: 0.28 });
    const l = arr(r.loss);
    // max(-1.5, -1.28) = -1.28; max(1.5, 1.28) = 1.5; max(0.5, 0.8) = 0.8; max(-0.5, -0.8) = -0.5
    expect(l[0]).toBeCloseTo(-1.28, 5);
    expect(l[1]).toBeCloseTo(1.5, 5);
    expect(l[2]).toBeCloseTo(0.8, 5);
    expect(l[3]).toBeCloseTo(-0.5, 5);
    expect(arr(r.clipped)).toEqual([1, 0, 1, 0]);
  });
  it("broadcasts per-sequence advantages and has gradient -A·ρ on unclipped tokens", () => {
    const old = t2([[0, 0]]);
    const adv = tf.tensor1d([2]);
    const g = tf.grad((lp: tf.Tensor) =>
      tf.sum(clippedPgLoss(lp as tf.Tensor2D, old, adv, { epsLow: 0.2, epsHigh: 0.2 }).loss),
    )(t2([[Math.log(1.1), Math.log(1.5)]]));
    const gv = arr(g);
    expect(gv[0]).toBeCloseTo(-2 * 1.1, 5); // inside the clip range
    expect(gv[1]).toBeCloseTo(0, 6); // clipped: no gradient
  });
  it("truncated IS weight is min(exp(old - rollout), cap) and scales the loss", () => {
    const w = truncatedIsWeight(t2([[Math.log(3), 0]]), t2([[0, Math.log(2)]]), 2);
    expect(arr(w)[0]).toBeCloseTo(2, 6);
    expect(arr(w)[1]).toBeCloseTo(0.5, 6);
    const r = clippedPgLoss(t2([[0, 0]]), t2([[0, 0]]), tf.tensor1d([1]), { epsLow: 0.2, epsHigh: 0.2 }, w);
    expect(arr(r.loss)[0]).toBeCloseTo(-2, 6);
    expect(arr(r.loss)[1]).toBeCloseTo(-0.5, 6);
  });
});

describe("aggregation", () => {
  it("token-mean, seq-mean-token-mean, seq-mean-token-sum, Dr. GRPO constant", () => {
    const x = t2([
      [1, 2, 3],
      [4, 9, 9],
    ]);
    const m = t2([
      [1, 1, 1],
      [1, 0, 0],
    ]);
    expect(aggregate(x, m, "token-mean").dataSync()[0]).toBeCloseTo(2.5, 6); // (6 + 4) / 4
    expect(aggregate(x, m, "seq-mean-token-mean").dataSync()[0]).toBeCloseTo(3, 6); // (2 + 4) / 2
    expect(aggregate(x, m, "seq-mean-token-sum").dataSync()[0]).toBeCloseTo(5, 6); // (6 + 4) / 2
    expect(aggregate(x, m, "seq-mean-token-sum-norm", 10).dataSync()[0]).toBeCloseTo(0.5, 6); // 10 / (2 * 10)
  });
});

describe("KL estimators", () => {
  it("k1, k2, k3 at logp - ref = ln 2", () => {
    const lp = t2([[Math.log(0.5)]]);
    const ref = t2([[Math.log(0.25)]]);
    expect(klEstimate(lp, ref, "k1").dataSync()[0]).toBeCloseTo(Math.LN2, 6);
    expect(klEstimate(lp, ref, "k2").dataSync()[0]).toBeCloseTo(0.5 * Math.LN2 ** 2, 6); // 0.2402265
    expect(klEstimate(lp, ref, "k3").dataSync()[0]).toBeCloseTo(0.5 - 1 + Math.LN2, 6); // 0.1931472
  });
});

describe("policyLoss", () => {
  it("sums pg, beta·KL and minus the entropy bonus with the chosen aggregation", () => {
    const lp = t2([[Math.log(0.5), Math.log(0.5)]]);
    const r = policyLoss(
      {
        logprobs: lp,
        oldLogprobs: lp,
        advantages: tf.tensor1d([1]),
        mask: t2([[1, 0]]),
        refLogprobs: t2([[Math.log(0.25), 0]]),
        entropy: t2([[0.7, 5]]),
      },
      {
        epsLow: 0.2,
        epsHigh: 0.28,
        aggregation: "token-mean",
        klCoef: 0.1,
        klEstimator: "k1",
        entropyCoef: 0.01,
      },
    );
    // pg = -1 (ratio 1), kl = ln 2, H = 0.7 (masked token ignored): -1 + 0.1 ln2 - 0.007
    expect(r.total.dataSync()[0]).toBeCloseTo(-1 + 0.1 * Math.LN2 - 0.007, 5);
    expect(r.clipFraction.dataSync()[0]).toBe(0);
  });
  it("with reference log-probs and klCoef 0: the KL is measured (kl) but total is the PG loss alone", () => {
    const lp = t2([[Math.log(0.5), Math.log(0.5)]]);
    const input = {
      logprobs: lp,
      oldLogprobs: lp,
      advantages: tf.tensor1d([1]),
      mask: t2([[1, 0]]),
      refLogprobs: t2([[Math.log(0.25), 0]]),
    };
    const o = { epsLow: 0.2, epsHigh: 0.28, aggregation: "token-mean" as const, klEstimator: "k1" as const };
    for (const r of [policyLoss(input, { ...o, klCoef: 0 }), policyLoss(input, o)]) {
      expect(r.kl).toBeDefined();
      expect(r.kl!.dataSync()[0]).toBeCloseTo(Math.LN2, 5); // k1 on the unmasked token: ln 0.5 - ln 0.25
      expect(r.pg.dataSync()[0]).toBeCloseTo(-1, 6); // ratio 1, A = 1
      expect(r.total.dataSync()[0]).toBe(r.pg.dataSync()[0]);
    }
    // with a coefficient the same KL enters the loss
    const withKl = policyLoss(input, { ...o, klCoef: 0.5 });
    expect(withKl.total.dataSync()[0]).toBeCloseTo(-1 + 0.5 * Math.LN2, 5);
    // without reference log-probs there is no KL at all
    expect(policyLoss({ ...input, refLogprobs: undefined }, { ...o, klCoef: 0 }).kl).toBeUndefined();
  });
});

describe("stopGradient", () => {
  it("passes the value and blocks the gradient", () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, stopGradient(x))))(tf.scalar(3));
    expect(g.dataSync()[0]).toBeCloseTo(3, 6); // d/dx (x · sg(x)) = sg(x) = 3, not 2x = 6
    expect(stopGradient(tf.scalar(4)).dataSync()[0]).toBe(4);
  });
});
