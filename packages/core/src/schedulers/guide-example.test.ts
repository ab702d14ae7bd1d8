/**
 * The example of the guide "Writing a mixing scheduler" (packages/core/docs/schedulers.md shows this code: keep the
 * two in sync). An `anneal` scheduler, registered through a plugin exactly as a third-party package would register
 * it, moves the mixture from proportional (p_d ∝ n_d) at step 0 to uniform (p_d = 1/D) at step `annealSteps`:
 *
 *   p_d(s) = (1 − t)·n_d/N + t/D,   t = min(1, s / annealSteps),   N = Σ n_d.
 *
 * The tests check the weights it produces over steps against hand-computed values, through the registry, the
 * experiment loader (option validation) and a real Trainer run (the `schedulerWeights` metric of every step).
 */

// --- guide code (begin) ------------------------------------------------------------------------------------------
import {
  type MixingScheduler,
  type MixingSchedulerInfo,
  Rng,
  type RngState,
  registryPlugin,
  type SchedulerContext,
  type SchedulerState,
} from "@m2rl/core";

/** p_d(s) = (1 − t)·n_d/N + t/D with t = min(1, s / annealSteps). */
export function annealWeights(sizes: readonly number[], step: number, annealSteps: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const t = Math.min(1, step / annealSteps);
  return sizes.map((n) => (1 - t) * (n / total) + t / sizes.length);
}

class AnnealScheduler implements MixingScheduler {
  readonly name = "anneal";
  private readonly rng: Rng;
  private step = 0;
  constructor(
    private readonly context: SchedulerContext,
    private readonly annealSteps: number,
  ) {
    this.rng = new Rng(context.seed); // every random choice on the scheduler's own seeded Rng
  }
  private probs(): number[] {
    return annealWeights(
      this.context.domains.map((d) => d.size),
      this.step,
      this.annealSteps,
    );
  }
  next(count: number, step: number): string[] {
    this.step = step;
    const p = this.probs();
    return Array.from({ length: count }, () => this.context.domains[this.rng.categorical(p)].name);
  }
  weights(): Record<string, number> {
    const p = this.probs();
    return Object.fromEntries(this.context.domains.map((d, i) => [d.name, p[i]]));
  }
  getState(): SchedulerState {
    return { rng: [...this.rng.getState()], step: this.step }; // JSON: goes into trainer_state.json
  }
  setState(state: SchedulerState): void {
    this.rng.setState(state.rng as RngState);
    this.step = state.step as number;
  }
}

export const annealScheduler: MixingSchedulerInfo = {
  name: "anneal",
  description: "Proportional at step 0, uniform from step annealSteps on, linear in between.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      annealSteps: { type: "integer", minimum: 1, description: "Default: the run's steps." },
    },
  },
  // options were validated against optionsSchema (defaults filled in) before create is called
  create: (options, context) =>
    new AnnealScheduler(context, (options.annealSteps as number | undefined) ?? context.totalSteps),
};

export const plugin = registryPlugin("m2rl-scheduler-anneal", { mixingSchedulers: [annealScheduler] });

// --- guide code (end) --------------------------------------------------------------------------------------------

import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { formatProblem, validateExperiment } from "../config/index.ts";
import type { DomainFactory } from "../domain/index.ts";
import { PluginHost } from "../plugin/index.ts";
import { useCpuBackend } from "../trainer/testing/backend.ts";
import { BigramPolicy } from "../trainer/testing/bigram-policy.ts";
import { toyDomain } from "../trainer/testing/toy-domain.ts";
import { Trainer } from "../trainer/trainer.ts";
import type { StepMetrics } from "../trainer/types.ts";
import { builtinSchedulersPlugin, createScheduler } from "./builtin.ts";

const context: SchedulerContext = {
  domains: [
    { name: "math", size: 300 },
    { name: "code", size: 100 },
  ],
  seed: 7,
  totalSteps: 8,
  promptsPerStep: 4,
};

describe("guide example: the anneal mixing scheduler", () => {
  it("registers through its plugin beside the built-ins", () => {
    const host = new PluginHost([builtinSchedulersPlugin, plugin]);
    expect(host.registry.mixingSchedulers.owner("anneal")).toBe("m2rl-scheduler-anneal");
    expect(host.registry.mixingSchedulers.names()).toContain("proportional");
  });

  it("moves the weights from proportional to uniform over annealSteps (hand-computed)", () => {
    const host = new PluginHost([plugin]);
    const s = createScheduler("anneal", { annealSteps: 4 }, context, host.registry.mixingSchedulers);
    // n = [300, 100]: proportional [0.75, 0.25], uniform [0.5, 0.5]; t = step / 4
    const expected: Record<number, Record<string, number>> = {
      0: { math: 0.75, code: 0.25 }, // t = 0
      1: { math: 0.6875, code: 0.3125 }, // t = 1/4: 0.75·0.75 + 0.25·0.5, 0.75·0.25 + 0.25·0.5
      2: { math: 0.625, code: 0.375 }, // t = 1/2
      3: { math: 0.5625, code: 0.4375 }, // t = 3/4
      4: { math: 0.5, code: 0.5 }, // t = 1
      9: { math: 0.5, code: 0.5 }, // t stays 1
    };
    for (const [step, w] of Object.entries(expected)) {
      const batch = s.next(4, Number(step));
      expect(batch).toHaveLength(4);
      for (const d of batch) expect(["math", "code"]).toContain(d);
      expect(s.weights()).toEqual(w); // dyadic fractions: exact in floating point
    }
  });

  it("annealSteps defaults to the run's steps, and draws follow the weights", () => {
    const host = new PluginHost([plugin]);
    const s = createScheduler("anneal", {}, context, host.registry.mixingSchedulers);
    s.next(1, 4); // totalSteps 8: t = 1/2
    expect(s.weights()).toEqual({ math: 0.625, code: 0.375 });
    const draws = s.next(20000, 4);
    expect(draws.filter((d) => d === "math").length / draws.length).toBeCloseTo(0.625, 1.5); // |err| < 0.016
  });

  it("its state round trip continues the same stream", () => {
    const a = annealScheduler.create!({ annealSteps: 4 }, context);
    a.next(13, 2);
    const state = JSON.parse(JSON.stringify(a.getState()));
    const b = annealScheduler.create!({ annealSteps: 4 }, { ...context, seed: 999 });
    b.setState(state);
    expect(b.weights()).toEqual(a.weights());
    expect(b.next(50, 3)).toEqual(a.next(50, 3));
  });

  it("the experiment loader validates its options against its schema, naming the plugin", () => {
    const toy: DomainFactory = {
      name: "toy",
      create: () => ({
        name: "toy",
        tasks: async () => [],
        verify: async () => ({ reward: 0, status: "incorrect" }),
      }),
    };
    const host = new PluginHost([registryPlugin("toy-domains", { domains: [toy] }), plugin]);
    const experiment = (options: string) => `name: x
policy: { builtin: tiny }
domains: { toy: {} }
arms:
  mix: { scheduler: anneal, options: ${options} }
`;
    const ok = validateExperiment(experiment("{ annealSteps: 50 }"), "exp.yaml", host);
    expect(ok.problems).toEqual([]);
    expect(ok.config!.arms[0]).toMatchObject({
      kind: "mix",
      scheduler: "anneal",
      options: { annealSteps: 50 },
    });
    const bad = validateExperiment(experiment("{ annealSteps: 0 }"), "exp.yaml", host);
    expect(bad.problems.map(formatProblem)).toEqual([
      "exp.yaml:5:53  arms.mix.options.annealSteps  [m2rl-scheduler-anneal] must be >= 1",
    ]);
  });
});

describe("guide example: the anneal scheduler in a real training run", () => {
  beforeAll(useCpuBackend);

  it("reports p(step) as schedulerWeights in every step's metrics", async () => {
    const host = new PluginHost([builtinSchedulersPlugin, plugin]);
    const records: StepMetrics[] = [];
    const trainer = new Trainer({
      policy: new BigramPolicy("abcdefgh0123456789", 2),
      // 4 train tasks per letter: 24 for alpha, 8 for beta → proportional [0.75, 0.25]
      domains: [
        toyDomain({ name: "alpha", letters: "abcdef", answers: "135791" }),
        toyDomain({ name: "beta", letters: "gh", answers: "24" }),
      ],
      config: {
        steps: 4,
        promptsPerStep: 4,
        groupSize: 2,
        seed: 3,
        sampling: { temperature: 1, topP: 1, maxNewTokens: 2 },
        scheduler: { name: "anneal", options: { annealSteps: 2 } },
      },
      schedulerRegistry: { get: (name) => host.registry.mixingSchedulers.find(name) },
      metrics: (r) => {
        if (r.type === "step") records.push(r as unknown as StepMetrics);
      },
    });
    await trainer.run();
    expect(records.map((m) => m.schedulerWeights)).toEqual([
      { alpha: 0.75, beta: 0.25 }, // step 0: t = 0
      { alpha: 0.625, beta: 0.375 }, // step 1: t = 1/2
      { alpha: 0.5, beta: 0.5 }, // step 2: t = 1
      { alpha: 0.5, beta: 0.5 },
    ]);
  });
});

describe("guide example: the guide shows this code", () => {
  it("packages/core/docs/schedulers.md holds the code between the guide markers of this file, verbatim", () => {
    const self = readFileSync(new URL(import.meta.url), "utf8");
    const begin = self.indexOf("\n", self.indexOf("// --- guide code (begin)")) + 1;
    const code = self.slice(begin, self.indexOf("// --- guide code (end)")).trim();
    const guide = readFileSync(new URL("../../docs/schedulers.md", import.meta.url), "utf8");
    expect(guide).toContain(`\`\`\`ts\n${code}\n\`\`\``);
  });
});
