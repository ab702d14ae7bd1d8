import { describe, expect, it } from "vitest";
import { PluginHost } from "../plugin/index.ts";
import { adaptiveProbabilities } from "./adaptive.ts";
import { BUILTIN_SCHEDULERS, builtinSchedulersPlugin, createScheduler } from "./builtin.ts";
import type { SchedulerContext } from "./types.ts";
import { temperatureWeights } from "./weighted.ts";

const ctx: SchedulerContext = {
  domains: [
    { name: "math", size: 300 },
    { name: "code", size: 100 },
  ],
  seed: 7,
  totalSteps: 10,
  promptsPerStep: 4,
};

const freq = (xs: string[], d: string) => xs.filter((x) => x === d).length / xs.length;

describe("weighted schedulers", () => {
  it("proportional (default) is a shuffled concatenation: every epoch holds exactly n_d of each domain", () => {
    const s = createScheduler("proportional", {}, ctx);
    expect(s.weights()).toEqual({ math: 0.75, code: 0.25 });
    for (let epoch = 0; epoch < 3; epoch++) {
      const xs = s.next(400, epoch);
      expect(xs.filter((x) => x === "math").length).toBe(300);
    }
    const first = createScheduler("proportional", {}, ctx).next(400, 0);
    expect(first.slice(0, 20)).not.toEqual(first.slice(0, 20).slice().sort()); // shuffled, not blocked
  });
  it("proportional with replacement draws p ∝ n i.i.d.", () => {
    const s = createScheduler("proportional", { withReplacement: true }, ctx);
    expect(s.weights()).toEqual({ math: 0.75, code: 0.25 });
    expect(freq(s.next(20000, 0), "math")).toBeCloseTo(0.75, 1.5); // |err| < 0.016
  });
  it("uniform draws 1/D", () => {
    const s = createScheduler("uniform", {}, ctx);
    expect(s.weights()).toEqual({ math: 0.5, code: 0.5 });
    expect(freq(s.next(20000, 0), "code")).toBeCloseTo(0.5, 1.5);
  });
  it("temperature: p ∝ n^(1/T)", () => {
    expect(temperatureWeights([1, 4], 2)).toEqual([1, 2]); // sqrt
    const s = createScheduler(
      "temperature",
      { temperature: 2 },
      {
        ...ctx,
        domains: [
          { name: "a", size: 1 },
          { name: "b", size: 4 },
        ],
      },
    );
    expect(s.weights().a).toBeCloseTo(1 / 3, 12);
    expect(s.weights().b).toBeCloseTo(2 / 3, 12);
  });
  it("state round trip continues the same stream", () => {
    const a = createScheduler("proportional", {}, ctx);
    a.next(13, 0);
    const st = JSON.parse(JSON.stringify(a.getState()));
    const b = createScheduler("proportional", {}, { ...ctx, seed: 999 });
    b.setState(st);
    expect(b.next(50, 1)).toEqual(a.next(50, 1));
  });
});

describe("sequential scheduler", () => {
  it("domain after domain, ⌈steps / D⌉ steps each by default", () => {
    const s = createScheduler("sequential", {}, ctx);
    expect(s.next(2, 0)).toEqual(["math", "math"]);
    expect(s.next(2, 4)).toEqual(["math", "math"]);
    expect(s.next(2, 5)).toEqual(["code", "code"]);
    expect(s.weights()).toEqual({ math: 0, code: 1 });
    expect(s.next(1, 50)).toEqual(["code"]);
    const r = createScheduler("sequential", { order: ["code", "math"], stepsPerDomain: 1 }, ctx);
    expect([r.next(1, 0)[0], r.next(1, 1)[0]]).toEqual(["code", "math"]);
    expect(() => createScheduler("sequential", { order: ["mth"] }, ctx)).toThrow(/unknown domain 'mth'/);
  });
});

describe("adaptive scheduler", () => {
  it("p = (1-ε)·softmax((1 - r̄)/τ) + ε/D on a hand case", () => {
    // r̄ = [0.2, 0.7], τ = 0.5: z = [1.6, 0.6], softmax = [e/(e+1), 1/(e+1)] = [0.7310586, 0.2689414]
    const p = adaptiveProbabilities([0.2, 0.7], 0.5, 0.1);
    expect(p[0]).toBeCloseTo(0.9 * 0.7310586 + 0.05, 6);
    expect(p[1]).toBeCloseTo(0.9 * 0.2689414 + 0.05, 6);
  });
  it("moves weight to the domain with low recent reward and serialises its EMA", () => {
    const s = createScheduler("adaptive", { alpha: 0.5, tau: 0.5, floor: 0.1 }, ctx);
    expect(s.weights().math).toBeCloseTo(0.5, 12);
    s.observe!(
      [
        { domain: "math", meanReward: 1, samples: 4 },
        { domain: "code", meanReward: 0, samples: 4 },
      ],
      0,
    );
    // EMA: math 0.5·0.5 + 0.5·1 = 0.75, code 0.25
    const p = adaptiveProbabilities([0.75, 0.25], 0.5, 0.1);
    expect(s.weights().code).toBeCloseTo(p[1], 12);
    expect(s.weights().code).toBeGreaterThan(0.7);
    const st = JSON.parse(JSON.stringify(s.getState()));
    const t = createScheduler("adaptive", { alpha: 0.5, tau: 0.5, floor: 0.1 }, ctx);
    t.setState(st);
    expect(t.weights()).toEqual(s.weights());
    expect(t.next(20, 1)).toEqual(s.next(20, 1));
  });
});

describe("adaptive scheduler, learning progress", () => {
  it("weights domains by |fast EMA - slow EMA| of their reward", () => {
    const s = createScheduler(
      "adaptive",
      { signal: "learning-progress", alpha: 0.5, slowAlpha: 0.1, tau: 0.1, floor: 0 },
      ctx,
    );
    s.observe!(
      [
        { domain: "math", meanReward: 0.5, samples: 4 },
        { domain: "code", meanReward: 0.9, samples: 4 },
      ],
      0,
    );
    // math: fast = slow = 0.5 → progress 0; code: fast 0.7, slow 0.54 → progress 0.16
    // p_code = e^(1.6) / (e^0 + e^(1.6)) = 0.8320184
    expect(s.weights().code).toBeCloseTo(Math.exp(1.6) / (1 + Math.exp(1.6)), 6);
  });
});

describe("registry", () => {
  it("the built-in plugin registers every scheduler into the plugin host", () => {
    const host = new PluginHost([builtinSchedulersPlugin]);
    expect(host.registry.mixingSchedulers.names()).toEqual([...BUILTIN_SCHEDULERS.keys()]);
    const s = createScheduler("uniform", {}, ctx, host.registry.mixingSchedulers);
    expect(s.name).toBe("uniform");
    expect(() => createScheduler("unifrom", {}, ctx, host.registry.mixingSchedulers)).toThrow(/did you mean/);
  });
});
