import { describe, expect, it } from "vitest";
import {
  breadcrumbs,
  breadcrumbsTies,
  dareLinear,
  dareTies,
  della,
  karcher,
  kthLargestAbs,
  linear,
  METHODS,
  modelStock,
  nuslerp,
  sce,
  slerp,
  taskArithmetic,
  ties,
} from "../src/index.ts";
import { close, input, run } from "./helpers.ts";

const S = Math.SQRT1_2;

describe("linear (Average)", () => {
  it("weighted mean, normalized and not", () => {
    const models = [
      [1, 2],
      [3, 6],
    ];
    close(run(linear, { models, perModel: [{ weight: 1 }, { weight: 3 }] }), [2.5, 5]);
    close(
      run(linear, { models, perModel: [{ weight: 1 }, { weight: 3 }], global: { normalize: false } }),
      [10, 20],
    );
  });
});

describe("task_arithmetic", () => {
  it("base + lambda * sum w_i tau_i", () => {
    const o = {
      base: [1, 1],
      models: [
        [2, 0],
        [1, 3],
      ],
    };
    close(run(taskArithmetic, { ...o, global: { lambda: 0.5 } }), [1.5, 1.5]); // taus [1,-1],[0,2]
    close(run(taskArithmetic, { ...o, global: { lambda: 1, normalize: true } }), [1.5, 1.5]);
    close(run(taskArithmetic, { ...o, perModel: [{ weight: 2 }, { weight: 1 }] }), [3, 1]); // 1 + 2*1 + 0, 1 - 2 + 2
  });
});

describe("ties", () => {
  it("trims per tensor, elects signs, averages agreeing entries", () => {
    // tau1 = [3, -1, 0.5, -2] -> top 2: [3, 0, 0, -2]; tau2 = [-1, -2, 1, 4] -> [0, -2, 0, 4]
    // weighted (w = 1, 2): [3, 0, 0, -2], [0, -4, 0, 8]; sum [3, -4, 0, 6] -> signs + - + +
    // agreeing: idx0 3/1, idx1 -4/2, idx2 nothing -> 0, idx3 8/2
    const o = {
      base: [0, 0, 0, 0],
      models: [
        [3, -1, 0.5, -2],
        [-1, -2, 1, 4],
      ],
      perModel: [
        { weight: 1, density: 0.5 },
        { weight: 2, density: 0.5 },
      ],
    };
    close(run(ties, o), [3, -2, 0, 4]);
    close(run(ties, { ...o, global: { lambda: 2 } }), [6, -4, 0, 8]);
    close(run(ties, { ...o, global: { normalize: false } }), [3, -4, 0, 8]);
  });
  it("averages agreeing entries; a zero elected sum has no sign, so no update (paper, NumPy reference)", () => {
    // idx0: 1 and 3 agree -> 2; idx1: 1 + (-1) = 0 -> no majority -> 0; idx2: 2 + (-1) > 0 -> only 2 -> 2
    close(
      run(ties, {
        base: [0, 0, 0],
        models: [
          [1, 1, 2],
          [3, -1, -1],
        ],
      }),
      [2, 0, 2],
    );
  });
  it("three models take the fused trim + election path and agree with the generic path", () => {
    const m = [
      [3, -1, 0.5, -2],
      [-1, -2, 1, 4],
      [0.25, 3, -0.5, 1],
    ];
    const perModel = [
      { weight: 1, density: 0.5 },
      { weight: 2, density: 0.5 },
      { weight: 0.5, density: 0.25 },
    ];
    // trimmed: [3,0,0,-2], [0,-2,0,4], [0,3,0,0]; weighted: [3,0,0,-2], [0,-4,0,8], [0,1.5,0,0]
    // sums [3,-2.5,0,6]: idx0 3/1; idx1 -4/2; idx2 none; idx3 8/2
    close(run(ties, { base: [0, 0, 0, 0], models: m, perModel }), [3, -2, 0, 4]);
    // the generic path (four models, the fourth all zeros) gives the same
    close(
      run(ties, {
        base: [0, 0, 0, 0],
        models: [...m, [0, 0, 0, 0]],
        perModel: [...perModel, { density: 0.5 }],
      }),
      [3, -2, 0, 4],
    );
    // whole-model thresholds replace the per-tensor ranking
    close(run(ties, { base: [0, 0, 0, 0], models: m, perModel, stats: [2.5, 10, 10] }), [3, 0, 0, 0]);
  });
  it("radix-select threshold equals the k-th largest magnitude", () => {
    const x = Float32Array.from({ length: 1001 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const sorted = [...x].map(Math.abs).sort((a, b) => b - a);
    for (const k of [1, 7, 500, 1000]) expect(kthLargestAbs(x, k)).toBe(sorted[k - 1]);
    expect(kthLargestAbs(x, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(kthLargestAbs(x, 5000)).toBe(0);
  });
  it("uses whole-model thresholds when the pre-pass gives them", () => {
    // threshold 2.5 for model 0 keeps only |tau| >= 2.5 whatever the tensor's own ranking
    const o = { base: [0, 0, 0], models: [[3, 2, 1]], perModel: [{ density: 1 }] };
    close(run(ties, { ...o, stats: [2.5] }), [3, 0, 0]);
    close(run(ties, o), [3, 2, 1]);
  });
});

describe("DARE", () => {
  const n = 200_000;
  const tau = Array.from({ length: n }, (_, i) => 1 + (i % 7) * 0.1);
  const base = new Array(n).fill(0);

  it("dare_linear: kept fraction ~ density, rescaled mean ~ tau, reproducible per seed and tensor name", () => {
    const out = run(dareLinear, { base, models: [tau], perModel: [{ density: 0.3 }], seed: 7 });
    const kept = out.filter((v) => v !== 0).length / n;
    expect(Math.abs(kept - 0.3)).toBeLessThan(0.005); // 4.6 sigma at n = 200k
    const meanOut = out.reduce((a, b) => a + b, 0) / n;
    const meanTau = tau.reduce((a, b) => a + b, 0) / n;
    expect(Math.abs(meanOut - meanTau) / meanTau).toBeLessThan(0.02);
    for (let i = 0; i < 50; i++) if (out[i] !== 0) expect(out[i]).toBeCloseTo(tau[i] / 0.3, 5);
    const again = run(dareLinear, { base, models: [tau], perModel: [{ density: 0.3 }], seed: 7 });
    expect(again).toEqual(out);
    const otherSeed = run(dareLinear, { base, models: [tau], perModel: [{ density: 0.3 }], seed: 8 });
    const otherName = run(dareLinear, {
      base,
      models: [tau],
      perModel: [{ density: 0.3 }],
      seed: 7,
      name: "x",
    });
    expect(otherSeed).not.toEqual(out);
    expect(otherName).not.toEqual(out);
  });
  it("rescale false keeps survivors unscaled; density 1 is plain task arithmetic", () => {
    const out = run(dareLinear, {
      base: [0, 0, 0, 0],
      models: [[1, 2, 3, 4]],
      perModel: [{ density: 0.5 }],
      global: { rescale: false },
    });
    for (const [i, v] of out.entries()) expect([0, i + 1]).toContain(v);
    const o = {
      base: [1, 2],
      models: [
        [2, 0],
        [0, 5],
      ],
    };
    close(run(dareLinear, o), run(taskArithmetic, o));
  });
  it("dare_ties with density 1 equals ties without trimming and without normalize", () => {
    const o = {
      base: [0, 0, 0],
      models: [
        [1, -2, 3],
        [2, 1, -1],
      ],
    };
    close(run(dareTies, o), run(ties, { ...o, global: { normalize: false } }));
    close(run(dareTies, o), [3, -2, 3]);
  });
  it("dare_ties drops, rescales and keeps statistics", () => {
    const out = run(dareTies, {
      base,
      models: [tau, tau],
      perModel: [{ density: 0.5 }, { density: 0.5 }],
      seed: 1,
    });
    // both positive: entries survive in 0 / 1 / 2 models: 0, tau/0.5, 2 tau/0.5 with prob 1/4, 1/2, 1/4
    const ratio = out.map((v, i) => v / tau[i]);
    const frac = (r: number) => ratio.filter((x) => Math.abs(x - r) < 1e-4).length / n;
    expect(Math.abs(frac(0) - 0.25)).toBeLessThan(0.006);
    expect(Math.abs(frac(2) - 0.5)).toBeLessThan(0.006);
    expect(Math.abs(frac(4) - 0.25)).toBeLessThan(0.006);
  });
});

describe("breadcrumbs", () => {
  it("drops the gamma largest and the smallest entries", () => {
    // n = 10, density 0.5 -> keep 5, gamma 0.1 -> drop the 1 largest; the 4 smallest go: keep 5..9
    const tau = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const out = run(breadcrumbs, {
      base: new Array(10).fill(0),
      models: [tau],
      perModel: [{ density: 0.5, gamma: 0.1 }],
    });
    close(out, [0, 0, 0, 0, 5, 6, 7, 8, 9, 0]);
  });
  it("breadcrumbs_ties adds sign consensus", () => {
    // keep 3 of 4 with gamma 0.25 (drop the largest): m1 [1,-2,3,-9] -> [1,-2,3,0]... sorted |.| 1,2,3,9
    // n_top = 1, keep = 2 -> n_bot = 1: keep ranks 1..2 -> |2|, |3|
    const out = run(breadcrumbsTies, {
      base: [0, 0, 0, 0],
      models: [
        [1, -2, 3, -9],
        [4, 2, -1, -3],
      ],
      perModel: [
        { density: 0.5, gamma: 0.25 },
        { density: 0.5, gamma: 0.25 },
      ],
    });
    // m1 -> [0, -2, 3, 0]; m2 (|.| 4,2,1,3: drop 4, keep 3 and 2) -> [0, 2, 0, -3]
    // idx1: -2 + 2 = 0 -> no sign -> 0; idx2: 3; idx3: -3; normalize false -> sums
    close(out, [0, 0, 3, -3]);
  });
});

describe("della", () => {
  it("keep probability rises with magnitude rank; rescaled by 1/p", () => {
    const cols = 100;
    const rows = 2000;
    const row = Array.from({ length: cols }, (_, c) => c + 1); // rank c has |x| = c + 1
    const tau = Array.from({ length: rows }, () => row).flat();
    const out = run(della, {
      base: new Array(rows * cols).fill(0),
      models: [tau],
      shape: [rows, cols],
      perModel: [{ density: 0.5, epsilon: 0.4 }],
      seed: 3,
    });
    const keptAt = (c: number) => {
      let k = 0;
      for (let r = 0; r < rows; r++) if (out[r * cols + c] !== 0) k++;
      return k / rows;
    };
    expect(Math.abs(keptAt(0) - 0.1)).toBeLessThan(0.03);
    expect(Math.abs(keptAt(cols - 1) - 0.9)).toBeLessThan(0.03);
    expect(Math.abs(keptAt(49) - (0.1 + (0.8 * 49) / 99))).toBeLessThan(0.04);
    // survivors are x / p
    expect(out[cols - 1] === 0 || Math.abs(out[cols - 1] - 100 / 0.9) < 1e-3).toBe(true);
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    expect(Math.abs(mean - 50.5) / 50.5).toBeLessThan(0.02);
  });
  it("rejects epsilon that pushes probabilities outside (0, 1)", () => {
    expect(() =>
      run(della, { base: [0, 0], models: [[1, 2]], perModel: [{ density: 0.5, epsilon: 0.6 }] }),
    ).toThrow(/epsilon 0.6/);
  });
});

describe("slerp", () => {
  it("interpolates on the sphere, lerps colinear vectors, t = 0 / 1 give the ends", () => {
    close(run(slerp, { base: [1, 0], models: [[0, 1]], global: { t: 0.5 } }), [S, S]);
    close(run(slerp, { base: [1, 0], models: [[0, 1]], global: { t: 1 / 3 } }), [Math.cos(Math.PI / 6), 0.5]);
    close(run(slerp, { base: [1, 1], models: [[2, 2]], global: { t: 0.25 } }), [1.25, 1.25]);
    close(run(slerp, { base: [3, 4], models: [[-1, 2]], global: { t: 0 } }), [3, 4], 1e-5);
    close(run(slerp, { base: [3, 4], models: [[-1, 2]], global: { t: 1 } }), [-1, 2], 1e-5);
  });
});

describe("nuslerp", () => {
  it("t = w1 / (w0 + w1), around a base when given, per row when not flattened", () => {
    close(
      run(nuslerp, {
        models: [
          [1, 0],
          [0, 1],
        ],
      }),
      [S, S],
    );
    close(
      run(nuslerp, {
        base: [1, 1],
        models: [
          [2, 1],
          [1, 2],
        ],
      }),
      [1 + S, 1 + S],
    );
    close(
      run(nuslerp, {
        models: [
          [1, 0],
          [0, 1],
        ],
        perModel: [{ weight: 0 }, { weight: 1 }],
      }),
      [0, 1],
    );
    // 2x2, rows interpolated separately: row0 [1,0] vs [0,1] -> [S,S]; row1 [2,0] vs [4,0] colinear -> lerp [3,0]
    close(
      run(nuslerp, {
        models: [
          [1, 0, 2, 0],
          [0, 1, 4, 0],
        ],
        shape: [2, 2],
        global: { nuslerp_flatten: false },
      }),
      [S, S, 3, 0],
    );
  });
});

describe("model_stock", () => {
  it("t = N cos / (1 + (N-1) cos) between base and the mean", () => {
    close(
      run(modelStock, {
        base: [0, 0],
        models: [
          [1, 0],
          [0, 1],
        ],
      }),
      [0, 0],
    ); // orthogonal: t = 0
    const c = S;
    const t = (2 * c) / (1 + c);
    close(
      run(modelStock, {
        base: [0, 0],
        models: [
          [1, 0],
          [1, 1],
        ],
      }),
      [t, t * 0.5],
    );
    close(
      run(modelStock, {
        base: [1, 1],
        models: [
          [2, 1],
          [2, 2],
        ],
      }),
      [1 + t, 1 + t * 0.5],
    );
  });
});

describe("sce", () => {
  it("mean-square weights and sign erase", () => {
    // tau1 [2,1,3], tau2 [-1,1,1]: w = [14/3, 1] / (17/3) = [14/17, 3/17]
    // idx0: sum 1 >= 0 -> only tau1: 2; idx1: both: 1; idx2: (3*14 + 1*3)/17 = 45/17
    close(
      run(sce, {
        base: [0, 0, 0],
        models: [
          [2, 1, 3],
          [-1, 1, 1],
        ],
      }),
      [2, 1, 45 / 17],
    );
  });
  it("select_topk keeps the highest-variance entries; a zero summed update is erased", () => {
    // variances [4, 0.25, 0.25, 0]: 3 non-zero, topk 0.5 -> 1 kept (idx0); idx0: 3 + (-1) > 0 -> only 3 -> 3
    const o = {
      base: [0, 0, 0, 0],
      models: [
        [3, 1, 0, 0],
        [-1, 0, 1, 0],
      ],
    };
    close(run(sce, { ...o, global: { select_topk: 0.5 } }), [3, 0, 0, 0]);
    // without selection idx1 and idx2 survive (one model changes each)
    close(run(sce, o), [3, 1, 1, 0]);
    close(run(sce, { base: [0], models: [[1], [-1]] }), [0]);
  });
});

describe("karcher", () => {
  it("mean direction on the sphere times the mean norm", () => {
    close(
      run(karcher, {
        models: [
          [1, 0],
          [0, 1],
        ],
      }),
      [S, S],
      1e-6,
    );
    close(
      run(karcher, {
        models: [
          [2, 0],
          [0, 4],
        ],
      }),
      [3 * S, 3 * S],
      1e-6,
    );
    // three directions at 0, 60 and 120 degrees: mean direction 60 degrees
    const d = (a: number) => [Math.cos(a), Math.sin(a)];
    close(run(karcher, { models: [d(0), d(Math.PI / 3), d((2 * Math.PI) / 3)] }), d(Math.PI / 3), 1e-5);
  });
});

describe("registry of methods", () => {
  it("has every mergekit name the paper and the issue ask for, each with declared parameters", () => {
    for (const name of [
      "linear",
      "task_arithmetic",
      "ties",
      "dare_linear",
      "dare_ties",
      "breadcrumbs",
      "breadcrumbs_ties",
      "della",
      "della_linear",
      "slerp",
      "nuslerp",
      "model_stock",
      "sce",
      "karcher",
    ]) {
      const m = METHODS.get(name)!;
      expect(m.name).toBe(name);
      for (const p of m.parameters) expect(p.description.length).toBeGreaterThan(0);
    }
  });
  it("needs a base where the method uses task vectors", () => {
    expect(() => ties.mergeTensor(input(ties, { models: [[1]] }))).toThrow(/needs a base_model/);
  });
});
