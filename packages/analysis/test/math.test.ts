import { Rng } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { jsFromLogProbs, klFromLogProbs, logSoftmax, positionDivergence } from "../src/math/divergence.ts";
import { dense, orthonormalizeColumns, principalAngles, subspaceOverlap } from "../src/math/linalg.ts";
import { MagnitudeHistogram } from "../src/math/magnitude-histogram.ts";
import { projectVectors, StreamingProjector } from "../src/math/projection.ts";
import {
  auc,
  cosine,
  jaccardFromCounts,
  overlapCoefficientFromCounts,
  pearson,
  randomJaccard,
  spearman,
} from "../src/math/stats.ts";

describe("stats", () => {
  it("cosine: identical 1, orthogonal 0, opposite -1", () => {
    expect(cosine([1, 2, 3], [1, 2, 3])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 5])).toBe(0);
    expect(cosine([1, -2], [-2, 4])).toBeCloseTo(-1, 12);
    expect(Number.isNaN(cosine([0, 0], [1, 1]))).toBe(true);
  });
  it("pearson and spearman on hand cases", () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    // hand: x=[1,2,3,4], y=[1,3,2,4]: cov=... r = 0.8
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    // monotone but non-linear: spearman 1, pearson < 1
    expect(spearman([1, 2, 3, 4], [1, 10, 100, 1000])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [1, 10, 100, 1000])).toBeLessThan(0.9);
    // ties: ranks averaged: x=[1,1,2] → [1.5,1.5,3]
    expect(spearman([1, 1, 2], [1, 2, 3])).toBeCloseTo(pearson([1.5, 1.5, 3], [1, 2, 3]), 12);
  });
  it("AUC = P(pos > neg) + ½ P(tie)", () => {
    expect(auc([3, 4], [1, 2])).toBe(1);
    expect(auc([1, 2], [3, 4])).toBe(0);
    // pairs: (2 vs 1)=1, (2 vs 3)=0, (2 vs 2)=0.5 → 1.5/3
    expect(auc([2], [1, 3, 2])).toBeCloseTo(0.5, 12);
  });
  it("Jaccard and overlap coefficient on hand masks", () => {
    const A = [1, 1, 1, 0, 0, 1];
    const B = [0, 1, 1, 1, 0, 0];
    const a = A.reduce((s, x) => s + x, 0);
    const b = B.reduce((s, x) => s + x, 0);
    const both = A.filter((x, i) => x && B[i]).length;
    expect(jaccardFromCounts(a, b, both)).toBeCloseTo(2 / 5, 12);
    expect(overlapCoefficientFromCounts(a, b, both)).toBeCloseTo(2 / 3, 12);
  });
  it("random Jaccard baseline matches simulation of independent masks", () => {
    const rng = new Rng(7);
    const N = 200_000;
    const p = 0.3;
    const q = 0.1;
    let both = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < N; i++) {
      const x = rng.next() < p;
      const y = rng.next() < q;
      na += +x;
      nb += +y;
      both += +(x && y);
    }
    expect(jaccardFromCounts(na, nb, both)).toBeCloseTo(randomJaccard(p, q), 2);
    expect(randomJaccard(p, q)).toBeCloseTo(0.03 / 0.37, 12);
  });
});

describe("divergences", () => {
  it("KL of identical distributions is 0; closed form for two categoricals", () => {
    const p = [0.5, 0.25, 0.25].map(Math.log);
    const q = [0.25, 0.25, 0.5].map(Math.log);
    expect(klFromLogProbs(p, p)).toBe(0);
    // KL(p||q) = .5 ln 2 + .25 ln 1 + .25 ln .5 = .25 ln 2
    expect(klFromLogProbs(p, q)).toBeCloseTo(0.25 * Math.LN2, 12);
    expect(klFromLogProbs(q, p)).toBeCloseTo(0.25 * Math.LN2, 12);
    // JS of disjoint supports = ln 2
    expect(jsFromLogProbs([0, Number.NEGATIVE_INFINITY], [Number.NEGATIVE_INFINITY, 0])).toBeCloseTo(
      Math.LN2,
      12,
    );
  });
  it("positionDivergence works from logits (shift-invariant) and entropy of uniform is ln V", () => {
    const d = positionDivergence([1, 1, 1, 1], [5, 5, 5, 5]);
    expect(d.klPQ).toBeCloseTo(0, 12);
    expect(d.entropyP).toBeCloseTo(Math.log(4), 12);
    const ls = logSoftmax([0, Math.log(3)]);
    expect(Math.exp(ls[1])).toBeCloseTo(0.75, 12);
  });
});

describe("principal angles", () => {
  const col = (...xs: number[]) => dense(xs.length, 1, Float64Array.from(xs));
  it("0°, 90° and 45° on hand subspaces", () => {
    const e1 = col(1, 0, 0);
    const e2 = col(0, 1, 0);
    const d = col(Math.SQRT1_2, Math.SQRT1_2, 0);
    expect(principalAngles(e1, e1)[0]).toBeCloseTo(0, 6);
    expect((principalAngles(e1, e2)[0] * 180) / Math.PI).toBeCloseTo(90, 6);
    expect((principalAngles(e1, d)[0] * 180) / Math.PI).toBeCloseTo(45, 6);
    // two planes in R^3 sharing one axis: angles 0 and 90
    const p1 = dense(3, 2, Float64Array.from([1, 0, 0, 1, 0, 0]));
    const p2 = dense(3, 2, Float64Array.from([1, 0, 0, 0, 0, 1]));
    const th = principalAngles(p1, p2).map((x) => (x * 180) / Math.PI);
    expect(th[0]).toBeCloseTo(0, 6);
    expect(th[1]).toBeCloseTo(90, 6);
    expect(subspaceOverlap(principalAngles(p1, p2))).toBeCloseTo(0.5, 10);
  });
  it("orthonormalizeColumns gives orthonormal columns and detects rank", () => {
    const m = dense(3, 3, Float64Array.from([1, 2, 3, 0, 1, 1, 1, 3, 4])); // col3 = col1 + col2
    expect(orthonormalizeColumns(m)).toBe(2);
  });
});

describe("random projection", () => {
  function pair(N: number, c: number, rng: Rng): [Float64Array, Float64Array] {
    // u, w orthonormal-ish random; v = c u + sqrt(1-c²) w  → cos(u, v) ≈ c exactly after Gram–Schmidt
    const u = new Float64Array(N).map(() => rng.normal());
    const w = new Float64Array(N).map(() => rng.normal());
    const nu = Math.hypot(...u);
    for (let i = 0; i < N; i++) u[i] /= nu;
    let dot = 0;
    for (let i = 0; i < N; i++) dot += u[i] * w[i];
    for (let i = 0; i < N; i++) w[i] -= dot * u[i];
    const nw = Math.hypot(...w);
    const v = new Float64Array(N);
    for (let i = 0; i < N; i++) v[i] = c * u[i] + Math.sqrt(1 - c * c) * (w[i] / nw);
    return [u, v];
  }

  for (const kind of ["gaussian", "sparse"] as const) {
    it(`${kind}: cosine preserved within the Johnson–Lindenstrauss bound over many seeds`, () => {
      const k = 256;
      const c = 0.4;
      const [u, v] = pair(1000, c, new Rng(1));
      expect(cosine(u, v)).toBeCloseTo(c, 10);
      const errs: number[] = [];
      for (let seed = 0; seed < 60; seed++) {
        const [pu, pv] = projectVectors([u, v], { dims: k, seed, kind });
        errs.push(cosine(pu, pv) - c);
      }
      // JL for unit vectors: P(|<Ru,Rv> - <u,v>| > eps) ≤ 4 exp(-(eps² - eps³) k / 4)
      for (const eps of [0.2, 0.3]) {
        const bound = 4 * Math.exp((-(eps * eps - eps ** 3) * k) / 4);
        const frac = errs.filter((e) => Math.abs(e) > eps).length / errs.length;
        expect(frac).toBeLessThanOrEqual(Math.min(1, bound));
      }
      const meanErr = errs.reduce((s, e) => s + e, 0) / errs.length;
      expect(Math.abs(meanErr)).toBeLessThan(0.03);
      const sd = Math.sqrt(errs.reduce((s, e) => s + e * e, 0) / errs.length);
      // the cosine estimate's sd ≈ (1 − c²)/√k ≈ 0.0525; allow generous slack both ways
      expect(sd).toBeGreaterThan(0.02);
      expect(sd).toBeLessThan(0.1);
    });
  }

  it("chunking and tensor order do not change the projection", () => {
    const x = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i));
    const whole = projectVectors([x], { dims: 16, seed: 3, kind: "gaussian" }, "t")[0];
    const p = new StreamingProjector(1, { dims: 16, seed: 3, kind: "gaussian" });
    p.beginTensor("t");
    p.add(0, [x.subarray(0, 77)]);
    p.add(77, [x.subarray(77)]);
    const chunked = p.result()[0];
    for (let j = 0; j < 16; j++) expect(chunked[j]).toBeCloseTo(whole[j], 9);
    expect(() => p.add(5, [x.subarray(0, 2)])).toThrow(/sequential/);
  });
});

describe("magnitude histogram", () => {
  it("top-fraction threshold keeps about that fraction", () => {
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 100_000 }, () => rng.normal());
    const h = new MagnitudeHistogram();
    h.add(x);
    const t = h.thresholdForTopFraction(0.2);
    const kept = x.filter((v) => Math.abs(v) >= t).length / x.length;
    expect(kept).toBeGreaterThanOrEqual(0.2);
    expect(kept).toBeLessThan(0.205);
    const sorted = Array.from(x, Math.abs).sort((a, b) => b - a);
    expect(t).toBeLessThanOrEqual(sorted[20_000 - 1]);
    expect(t).toBeGreaterThan(sorted[20_000 - 1] * 0.99);
  });
  it("zeros are never in the top", () => {
    const h = new MagnitudeHistogram();
    h.add(Float32Array.from([0, 0, 0, 2]));
    expect(h.thresholdForTopFraction(0.9)).toBe(2);
  });
});
