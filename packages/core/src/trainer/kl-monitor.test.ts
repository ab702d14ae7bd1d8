/**
 * `trainer.kl.monitor` (the KL to the reference as a metric, with no loss term when kl.coef is 0) and
 * `trainer.evalTasks` (the periodic evaluation on a subset of each domain's eval split).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../errors/index.ts";
import type { TrainerConfigInput } from "./config.ts";
import type { EvalResult } from "./evaluate.ts";
import { useCpuBackend } from "./testing/backend.ts";
import { BigramPolicy } from "./testing/bigram-policy.ts";
import { toyDomain } from "./testing/toy-domain.ts";
import { Trainer } from "./trainer.ts";
import type { StepMetrics } from "./types.ts";

beforeAll(useCpuBackend);

const ALPHABET = "abcdefgh0123456789";
const mathLike = () => toyDomain({ name: "alpha", letters: "abcd", answers: "1357" });
const codeLike = () => toyDomain({ name: "beta", letters: "efgh", answers: "2468" });

const small: TrainerConfigInput = {
  steps: 3,
  promptsPerStep: 4,
  groupSize: 4,
  seed: 3,
  sampling: { temperature: 1, topP: 1, maxNewTokens: 4 },
  optimizer: { lr: 0.05, weightDecay: 0, maxGradNorm: 1 },
};

describe("kl.monitor", () => {
  /** N steps of a policy against a far-away frozen reference; the step metrics and the final parameters. */
  async function run(monitor: boolean) {
    const policy = new BigramPolicy(ALPHABET, 30);
    const steps: StepMetrics[] = [];
    await new Trainer({
      policy,
      reference: new BigramPolicy(ALPHABET, 31, 1),
      domains: [mathLike()],
      config: { ...small, kl: { coef: 0, estimator: "k3", monitor } },
      metrics: (r) => {
        if (r.type === "step") steps.push(r as unknown as StepMetrics);
      },
    }).run();
    const params = new Map([...policy.params].map(([k, v]) => [k, Array.from(v.dataSync())]));
    policy.dispose();
    return { steps, params };
  }

  it("coef 0 + monitor: a finite KL every step, and bitwise the same parameters as without it", async () => {
    const off = await run(false);
    const on = await run(true);
    expect(off.steps.map((m) => m.kl)).toEqual([null, null, null]);
    expect(on.steps.length).toBe(3);
    for (const m of on.steps) {
      expect(typeof m.kl).toBe("number");
      expect(Number.isFinite(m.kl)).toBe(true);
      expect(m.kl).toBeGreaterThan(0); // the reference is far from the policy
      expect(m.loss).toBe(m.pgLoss); // entropyCoef 0, no KL term: the loss is the PG loss alone
    }
    // The KL is measured, not optimised: same batches, same losses, same weights to the bit.
    expect(on.steps.map((m) => m.batchDomains)).toEqual(off.steps.map((m) => m.batchDomains));
    expect(on.steps.map((m) => m.loss)).toEqual(off.steps.map((m) => m.loss));
    expect(on.steps.map((m) => m.gradNorm)).toEqual(off.steps.map((m) => m.gradNorm));
    expect([...on.params.keys()]).toEqual([...off.params.keys()]);
    for (const [name, values] of off.params) expect(on.params.get(name), name).toEqual(values);
    // ... and the steps did move the weights (the comparison is not of two untouched initialisations)
    const init = new BigramPolicy(ALPHABET, 30);
    const moved = [...init.params].some(([k, v]) =>
      Array.from(v.dataSync()).some((x, i) => x !== off.params.get(k)![i]),
    );
    init.dispose();
    expect(moved).toBe(true);
    // The reference pass is counted in the scored tokens.
    expect(on.steps[0].scoredTokens).toBeGreaterThan(off.steps[0].scoredTokens);
  });

  it("needs a reference policy: a ConfigError naming trainer.kl.monitor", () => {
    const make = () =>
      new Trainer({
        policy: new BigramPolicy(ALPHABET, 1),
        domains: [mathLike()],
        config: { ...small, kl: { coef: 0, monitor: true } },
      });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(/trainer\.kl\.monitor: kl\.monitor needs a reference policy/);
    try {
      make();
    } catch (err) {
      expect((err as ConfigError).path).toBe("trainer.kl.monitor");
    }
    // monitor off and coef 0: no reference needed
    expect(
      () =>
        new Trainer({
          policy: new BigramPolicy(ALPHABET, 1),
          domains: [mathLike()],
          config: { ...small, kl: { coef: 0, monitor: false } },
        }),
    ).not.toThrow();
  });
});

describe("evalTasks", () => {
  async function evals(evalTasks: number): Promise<{ step: number; result: EvalResult }[]> {
    const out: { step: number; result: EvalResult }[] = [];
    // 6 letters: the eval split has 6 tasks by default
    const wide = (name: string, letters: string) => toyDomain({ name, letters, answers: "123456" });
    await new Trainer({
      policy: new BigramPolicy("abcdefghijkl0123456789", 41),
      domains: [wide("alpha", "abcdef"), wide("beta", "ghijkl")],
      config: { ...small, steps: 2, evalEvery: 1, evalTasks, computeEntropy: false },
      eval: { maxNewTokens: 4 },
      metrics: (r) => {
        if (r.type === "eval") out.push({ step: r.step, result: r as unknown as EvalResult });
      },
    }).run();
    return out;
  }

  it("evalEvery 1, evalTasks 3: every periodic evaluation scores 3 tasks per domain", async () => {
    const got = await evals(3);
    expect(got.map((e) => e.step)).toEqual([1, 2]);
    for (const e of got) {
      expect(e.result.domains.map((d) => [d.domain, d.tasks])).toEqual([
        ["alpha", 3],
        ["beta", 3],
      ]);
    }
  });

  it("evalTasks 0: the whole eval split", async () => {
    const got = await evals(0);
    expect(got.length).toBe(2);
    for (const e of got) expect(e.result.domains.map((d) => d.tasks)).toEqual([6, 6]);
  });

  it("an explicit count passed to evaluate() wins over evalTasks", async () => {
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 42),
      domains: [mathLike(), codeLike()],
      config: { ...small, evalTasks: 3 },
    });
    expect((await t.evaluate({ maxNewTokens: 4 })).domains.map((d) => d.tasks)).toEqual([3, 3]);
    expect((await t.evaluate({ maxNewTokens: 4, count: 2 })).domains.map((d) => d.tasks)).toEqual([2, 2]);
  });
});
