import * as tf from "@tensorflow/tfjs-core";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { MemoryFileStore } from "../checkpoint/index.ts";
import type { Task } from "../domain/types.ts";
import {
  DEFAULT_TRAINER_CONFIG,
  PAPER_TRAINER_PRESETS,
  resolveTrainerConfig,
  TRAINER_CONFIG_SCHEMA,
  type TrainerConfigInput,
} from "./config.ts";
import { evaluatePolicy } from "./evaluate.ts";
import { sftWarmup } from "./sft.ts";
import { useCpuBackend } from "./testing/backend.ts";
import { BigramPolicy } from "./testing/bigram-policy.ts";
import { toyDomain } from "./testing/toy-domain.ts";
import { Trainer, type TrainerPlugin } from "./trainer.ts";
import type { StepMetrics } from "./types.ts";

beforeAll(useCpuBackend);

const ALPHABET = "abcdefgh0123456789";
const mathLike = () => toyDomain({ name: "alpha", letters: "abcd", answers: "1357" });
const codeLike = () => toyDomain({ name: "beta", letters: "efgh", answers: "2468" });

const small: TrainerConfigInput = {
  steps: 4,
  promptsPerStep: 4,
  groupSize: 4,
  seed: 3,
  sampling: { temperature: 1, topP: 1, maxNewTokens: 4 },
  optimizer: { lr: 0.05, weightDecay: 0, maxGradNorm: 1 },
};

describe("trainer config", () => {
  it("defaults follow the paper's RL recipe and validate against the exported schema", () => {
    const c = resolveTrainerConfig();
    expect(c.clip).toEqual({ epsLow: 0.2, epsHigh: 0.28 });
    expect(c.kl.coef).toBe(0);
    expect(c.tisCap).toBe(2);
    expect(c.optimizer.lr).toBe(2e-6);
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(TRAINER_CONFIG_SCHEMA);
    expect(validate(JSON.parse(JSON.stringify(DEFAULT_TRAINER_CONFIG)))).toBe(true);
    expect(validate({ clip: { epsLow: 0.2, epsHih: 0.3 } })).toBe(false);
  });
  it("the paper presets resolve and validate", () => {
    const validate = new Ajv({ strict: false }).compile(TRAINER_CONFIG_SCHEMA);
    for (const [kind, preset] of Object.entries(PAPER_TRAINER_PRESETS)) {
      expect(validate(preset), kind).toBe(true);
      const c = resolveTrainerConfig(preset);
      expect(c.optimizer.weightDecay).toBe(0.1);
      expect(c.kl.coef).toBe(0);
    }
    expect(resolveTrainerConfig(PAPER_TRAINER_PRESETS.mopd)).toMatchObject({
      promptsPerStep: 256,
      groupSize: 4,
      optimizer: { lr: 1e-6 },
    });
  });

  it("schema and defaults name the same keys (no drift)", () => {
    const keys = (o: Record<string, unknown>, prefix = ""): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        v && typeof v === "object" && !Array.isArray(v) && k !== "options" && k !== "plugins"
          ? keys(v as Record<string, unknown>, `${prefix}${k}.`)
          : [`${prefix}${k}`],
      );
    const schemaKeys = (s: Record<string, unknown>, prefix = ""): string[] =>
      Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>).flatMap(([k, v]) =>
        v.properties && k !== "scheduler" ? schemaKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
      );
    const optional = ["aggregationNormalizer", "trainTasksPerDomain", "sampling.stop", "overlong.maxLength"];
    const fromDefaults = keys(DEFAULT_TRAINER_CONFIG as unknown as Record<string, unknown>).map((k) =>
      k.startsWith("scheduler.") ? "scheduler" : k,
    );
    expect(new Set(schemaKeys(TRAINER_CONFIG_SCHEMA))).toEqual(new Set([...fromDefaults, ...optional]));
  });

  it("rejects unknown keys and bad combinations with the field's path", () => {
    expect(() => resolveTrainerConfig({ clip: { epsLw: 0.1 } } as never)).toThrow(/trainer\.clip\.epsLw/);
    expect(() => resolveTrainerConfig({ groupSize: 1 })).toThrow(/trainer\.groupSize/);
    expect(() =>
      resolveTrainerConfig({ overlong: { enabled: true, cacheLength: 10 }, sampling: { maxNewTokens: 8 } }),
    ).toThrow(/cacheLength/);
  });
});

describe("SFT warm-up", () => {
  it("fits prompt → reference pairs", async () => {
    const policy = new BigramPolicy(ALPHABET, 1);
    const dom = mathLike();
    const before = await evaluatePolicy(policy, [dom], { maxNewTokens: 4 });
    const losses = await sftWarmup(policy, await dom.tasks({ split: "train", seed: 0 }), {
      steps: 60,
      lr: 0.1,
    });
    const after = await evaluatePolicy(policy, [dom], { maxNewTokens: 4 });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 4);
    expect(before.meanAccuracy).toBe(0);
    expect(after.meanAccuracy).toBe(1);
  });
});

describe("Trainer", () => {
  it("runs GRPO steps with per-domain metrics, the batch's domains and FLOPs", async () => {
    const policy = new BigramPolicy(ALPHABET, 2);
    const records: StepMetrics[] = [];
    const t = new Trainer({
      policy,
      domains: [mathLike(), codeLike()],
      config: { ...small, scheduler: { name: "uniform", options: {} } },
      metrics: (r) => {
        if (r.type === "step") records.push(r as unknown as StepMetrics);
      },
    });
    const summary = await t.run();
    expect(summary.steps).toBe(4);
    expect(records.length).toBe(4);
    const m = records[0];
    expect(m.batchDomains.length).toBe(m.groupsKept);
    for (const d of m.batchDomains) expect(["alpha", "beta"]).toContain(d);
    const nSamples = Object.values(m.perDomain).reduce((a, d) => a + d.samples, 0);
    expect(nSamples).toBe(16);
    expect(Object.values(m.statusCounts).reduce((a, b) => a + b, 0)).toBe(16);
    const P = (ALPHABET.length + 2) ** 2 + ALPHABET.length + 2;
    // 6·P·trained + 2·P·(generated + recomputed old log-probs): trained tokens = generated = scored
    expect(m.flops).toBe(6 * P * m.tokens + 2 * P * (m.generatedTokens + m.tokens));
    expect(m.updates).toBe(1);
    expect(m.entropy).toBeGreaterThan(0);
    expect(m.schedulerWeights).toEqual({ alpha: 0.5, beta: 0.5 });
  });

  it("drops groups with an `error` verification (status policy)", async () => {
    const policy = new BigramPolicy(ALPHABET, 4, 0);
    // a uniform policy: some response of length 1 ("<digit>" then max) hits the injected error text
    const dom = toyDomain({
      name: "alpha",
      letters: "abcd",
      answers: "1357",
      errorOn: ["1", "2", "3", "4", "5"],
    });
    const t = new Trainer({
      policy,
      domains: [dom],
      config: { ...small, steps: 1, promptsPerStep: 8, sampling: { maxNewTokens: 1 } },
    });
    const m = await t.trainStep();
    const errors = m.statusCounts.error;
    expect(errors).toBeGreaterThan(0);
    expect(m.groupsDroppedStatus).toBeGreaterThan(0);
    expect(m.groupsKept + m.groupsDroppedStatus).toBe(8);
    expect(m.batchDomains.length).toBe(m.groupsKept);
  });

  it("a verifier that throws gives status `error` and its group is dropped", async () => {
    const base = mathLike();
    let calls = 0;
    const flaky = {
      ...base,
      verify: async (input: Parameters<typeof base.verify>[0]) => {
        if (calls++ % 5 === 0) throw new Error("sandbox crashed");
        return base.verify(input);
      },
    };
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 13),
      domains: [flaky],
      config: { ...small, steps: 1 },
    });
    const m = await t.trainStep();
    expect(m.statusCounts.error).toBe(4); // calls 0, 5, 10, 15 of 16
    expect(m.groupsDroppedStatus).toBeGreaterThan(0);
  });

  it("dynamic sampling drops all-equal groups and refills up to maxRefills rounds", async () => {
    const policy = new BigramPolicy(ALPHABET, 5, 0);
    const t = new Trainer({
      policy,
      domains: [mathLike()],
      // responses of one token are never the exact answer+EOS... they are "d" or a digit: mostly reward 0
      config: {
        ...small,
        steps: 1,
        promptsPerStep: 4,
        dynamicSampling: { enabled: true, maxRefills: 2 },
        sampling: { maxNewTokens: 1 },
      },
    });
    const m = await t.trainStep();
    expect(m.samplingRounds).toBeGreaterThanOrEqual(1);
    expect(m.samplingRounds).toBeLessThanOrEqual(3);
    expect(m.groupsKept).toBeLessThanOrEqual(4);
    if (m.groupsKept < 4) expect(m.samplingRounds).toBe(3);
    expect(m.groupsDroppedUniform).toBeGreaterThan(0);
  });

  it("PPO epochs × mini-batches give that many optimizer updates", async () => {
    const policy = new BigramPolicy(ALPHABET, 6);
    const t = new Trainer({
      policy,
      domains: [mathLike()],
      config: { ...small, steps: 1, ppoEpochs: 2, miniBatches: 2 },
    });
    const m = await t.trainStep();
    expect(m.updates).toBe(4);
    expect(t.optimizer.step).toBe(4);
  });

  it("the LR schedule counts optimizer updates, also in the lr a step without an update reports", async () => {
    // Step 0: rewards alternate 0/1 (every group informative: 2 epochs × 2 mini-batches = 4 updates). Step 1: every
    // reward 0, dynamic sampling drops every group, no update. Linear decay lr 1 → 0 over steps × 2 × 2 = 8 updates:
    // step 0 uses lr(0..3) = 1, 7/8, 6/8, 5/8 and step 1 reports lr(4) = 1/2 (counting training steps instead:
    // p = 4/2 clamps to 1, lr 0).
    const inner = mathLike();
    let calls = 0;
    const domain = {
      ...inner,
      name: inner.name,
      verify: async () => {
        const r = calls < 16 ? calls % 2 : 0;
        calls++;
        return { reward: r, status: r ? ("correct" as const) : ("incorrect" as const) };
      },
    };
    const rows: StepMetrics[] = [];
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 6),
      domains: [domain],
      config: {
        ...small,
        steps: 2,
        ppoEpochs: 2,
        miniBatches: 2,
        dynamicSampling: { enabled: true, maxRefills: 0 },
        optimizer: { lr: 1, decay: "linear", minLr: 0, warmupSteps: 0, maxGradNorm: 1, weightDecay: 0 },
      },
      metrics: (r) => {
        if (r.type === "step") rows.push(r as unknown as StepMetrics);
      },
    });
    await t.run();
    expect(rows.map((r) => r.updates)).toEqual([4, 0]);
    expect(rows[0].lr).toBeCloseTo(5 / 8, 12);
    expect(rows[1].lr).toBeCloseTo(1 / 2, 12);
    expect(t.learningRate()).toBeCloseTo(1 / 2, 12);
  });

  it("micro-batching accumulates the same gradient as one chunk", async () => {
    const run = async (microBatchSize: number, aggregation: "token-mean" | "seq-mean-token-mean") => {
      const policy = new BigramPolicy(ALPHABET, 7);
      const t = new Trainer({
        policy,
        domains: [mathLike()],
        config: { ...small, steps: 1, microBatchSize, aggregation },
      });
      await t.trainStep();
      return Array.from(policy.params.get("model.embed_tokens.weight")!.dataSync());
    };
    for (const agg of ["token-mean", "seq-mean-token-mean"] as const) {
      const a = await run(0, agg);
      const b = await run(3, agg);
      const maxDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
      expect(maxDiff).toBeLessThan(1e-6);
    }
  });

  it("GRPO raises the accuracy of a partly warmed bigram policy", async () => {
    const policy = new BigramPolicy(ALPHABET, 8);
    const dom = mathLike();
    await sftWarmup(policy, await dom.tasks({ split: "train", seed: 0 }), { steps: 6, lr: 0.05 });
    const before = await evaluatePolicy(policy, [dom], {
      mode: "sampled",
      samples: 16,
      maxNewTokens: 4,
      seed: 1,
    });
    const t = new Trainer({
      policy,
      domains: [dom],
      config: {
        ...small,
        steps: 15,
        promptsPerStep: 8,
        groupSize: 8,
        optimizer: { lr: 0.1, weightDecay: 0 },
      },
    });
    await t.run();
    const after = await evaluatePolicy(policy, [dom], {
      mode: "sampled",
      samples: 16,
      maxNewTokens: 4,
      seed: 1,
    });
    expect(after.meanAccuracy).toBeGreaterThan(before.meanAccuracy + 0.2);
  });
});

describe("trainer plugins (hooks only)", () => {
  it("a reward-shaping plugin changes the rewards the advantages see", async () => {
    const seen: number[] = [];
    const shaping: TrainerPlugin = {
      name: "length-bonus",
      apply(trainer) {
        trainer.hooks.reward.tap("length-bonus", (batch) => ({
          ...batch,
          samples: batch.samples.map((s) => ({
            ...s,
            rewardTerms: { ...s.rewardTerms, bonus: 10 },
            reward: s.reward + 10,
          })),
        }));
        trainer.hooks.advantage.tap("length-bonus", (batch) => {
          for (const s of batch.samples) seen.push(s.reward);
          return batch;
        });
      },
    };
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 9),
      domains: [mathLike()],
      config: small,
      plugins: [shaping],
    });
    const m = await t.trainStep();
    expect(seen.length).toBe(16);
    for (const r of seen) expect(r).toBeGreaterThanOrEqual(10);
    expect(m.meanReward).toBeGreaterThanOrEqual(10);
  });

  it("an early-stopping plugin ends the run and afterRun sees why", async () => {
    let summaryReason: string | null = null;
    const early: TrainerPlugin = {
      name: "stop-after-2",
      apply(trainer) {
        trainer.hooks.afterStep.tap("stop-after-2", (m, ctx) => {
          if (m.step >= 1) ctx.stop("two steps are enough");
        });
        trainer.hooks.afterRun.tap("stop-after-2", (s) => {
          summaryReason = s.stoppedEarly;
        });
      },
    };
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 10),
      domains: [mathLike()],
      config: { ...small, steps: 10 },
      plugins: [early],
    });
    const s = await t.run();
    expect(s.steps).toBe(2);
    expect(summaryReason).toBe("two steps are enough");
  });

  it("a loss plugin adds a term inside the gradient scope", async () => {
    const l2: TrainerPlugin = {
      name: "l2",
      apply(trainer) {
        trainer.hooks.loss.tap("l2", (terms, ctx) => ({
          ...terms,
          total: tf.add(terms.total, tf.mul(tf.sum(tf.square(ctx.logprobs)), 1e3)) as tf.Scalar,
        }));
      },
    };
    const a = new Trainer({
      policy: new BigramPolicy(ALPHABET, 11),
      domains: [mathLike()],
      config: { ...small, steps: 1 },
    });
    const b = new Trainer({
      policy: new BigramPolicy(ALPHABET, 11),
      domains: [mathLike()],
      config: { ...small, steps: 1 },
      plugins: [l2],
    });
    const ma = await a.trainStep();
    const mb = await b.trainStep();
    expect(mb.loss).toBeGreaterThan(ma.loss + 100);
    expect(mb.gradNorm).toBeGreaterThan(ma.gradNorm);
  });
});

describe("checkpoint and resume", () => {
  it("N steps, checkpoint, new trainer, N steps == 2N uninterrupted steps (bitwise)", async () => {
    const cfg: TrainerConfigInput = { ...small, steps: 6, scheduler: { name: "adaptive", options: {} } };
    const doms = () => [mathLike(), codeLike()];
    const full = new BigramPolicy(ALPHABET, 12);
    const fullMetrics: StepMetrics[] = [];
    await new Trainer({
      policy: full,
      domains: doms(),
      config: cfg,
      metrics: (r) => {
        if (r.type === "step") fullMetrics.push(r as unknown as StepMetrics);
      },
    }).run();

    const stores = new Map<number, MemoryFileStore>();
    const first = new Trainer({
      policy: new BigramPolicy(ALPHABET, 12),
      domains: doms(),
      config: { ...cfg, checkpointEvery: 3 },
      checkpointStore: (step) => {
        const s = new MemoryFileStore(`ck-${step}`);
        stores.set(step, s);
        return s;
      },
      plugins: [
        {
          name: "kill",
          apply: (tr) =>
            tr.hooks.afterStep.tap("kill", (_m, ctx) => (ctx.step === 2 ? ctx.stop("killed") : undefined)),
        },
      ],
    });
    await first.run();
    expect(first.step).toBe(3);
    const store = stores.get(3)!;
    expect((await store.list()).sort()).toEqual([
      "model.safetensors",
      "optimizer.safetensors",
      "trainer_state.json",
    ]);

    const resumedPolicy = new BigramPolicy(ALPHABET, 999); // different init: everything must come from the checkpoint
    const resumedMetrics: StepMetrics[] = [];
    const second = new Trainer({
      policy: resumedPolicy,
      domains: doms(),
      config: cfg,
      metrics: (r) => {
        if (r.type === "step") resumedMetrics.push(r as unknown as StepMetrics);
      },
    });
    await second.restore(store);
    await second.run();
    expect(second.step).toBe(6);
    for (const [name, p] of full.params) {
      expect(Array.from(resumedPolicy.params.get(name)!.dataSync())).toEqual(Array.from(p.dataSync()));
    }
    expect(resumedMetrics.map((m) => m.batchDomains)).toEqual(
      fullMetrics.slice(3).map((m) => m.batchDomains),
    );
    expect(resumedMetrics.map((m) => m.loss)).toEqual(fullMetrics.slice(3).map((m) => m.loss));
  });

  it("refuses an incomplete checkpoint folder", async () => {
    const t = new Trainer({ policy: new BigramPolicy(ALPHABET, 1), domains: [mathLike()], config: small });
    await expect(t.restore(new MemoryFileStore("empty"))).rejects.toThrow(/trainer_state\.json/);
  });
});

describe("MOPD", () => {
  it("moves the student toward the teacher of each prompt's domain", async () => {
    const alpha = mathLike();
    const beta = codeLike();
    const teacherA = new BigramPolicy(ALPHABET, 20);
    await sftWarmup(teacherA, await alpha.tasks({ split: "train", seed: 0 }), { steps: 40, lr: 0.1 });
    const teacherB = new BigramPolicy(ALPHABET, 21);
    await sftWarmup(teacherB, await beta.tasks({ split: "train", seed: 0 }), { steps: 40, lr: 0.1 });
    const student = new BigramPolicy(ALPHABET, 22);
    const before = await evaluatePolicy(student, [alpha, beta], { maxNewTokens: 4 });
    const gap: number[] = []; // mean per-token log p_teacher - log p_student of each step (-reverse KL estimate)
    const probe: TrainerPlugin = {
      name: "probe",
      apply: (tr) =>
        tr.hooks.advantage.tap("probe", (batch) => {
          const all = batch.samples.flatMap((s) => s.tokenAdvantages ?? []);
          gap.push(all.reduce((a, b) => a + b, 0) / all.length);
          return batch;
        }),
    };
    const t = new Trainer({
      plugins: [probe],
      policy: student,
      domains: [alpha, beta],
      teachers: new Map([
        ["alpha", teacherA],
        ["beta", teacherB],
      ]),
      config: {
        ...small,
        algorithm: "mopd",
        steps: 60,
        promptsPerStep: 8,
        groupSize: 2,
        optimizer: { lr: 0.1, weightDecay: 0 },
      },
    });
    await t.run();
    const after = await evaluatePolicy(student, [alpha, beta], { maxNewTokens: 4 });
    expect(before.meanAccuracy).toBe(0);
    expect(after.meanAccuracy).toBeGreaterThanOrEqual(0.75);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(gap.slice(-10))).toBeGreaterThan(mean(gap.slice(0, 10)) + 0.5);
  });
  it("needs a teacher for every domain", () => {
    expect(
      () =>
        new Trainer({
          policy: new BigramPolicy(ALPHABET, 1),
          domains: [mathLike()],
          config: { ...small, algorithm: "mopd" },
        }),
    ).toThrow(/teacher for domain 'alpha'/);
  });
});

export type { Task };

describe("trainerConfigPlugin", () => {
  it("registers the trainer and policy.sft schemas; the host validates options with them", async () => {
    const { PluginHost } = await import("../plugin/index.ts");
    const { trainerConfigPlugin } = await import("./plugin.ts");
    const host = new PluginHost([trainerConfigPlugin]);
    expect(host.registry.configSections.names()).toEqual(["trainer", "policy.sft"]);
    const schema = host.registry.configSections.get("trainer").optionsSchema;
    expect(host.validateOptions("m2rl:trainer", schema, { clip: { epsHigh: 0.28 } }, ["trainer"])).toEqual(
      [],
    );
    const bad = host.validateOptions("m2rl:trainer", schema, { aggregation: "token-sum" }, ["trainer"]);
    expect(bad.length).toBeGreaterThan(0);
  });
});

describe("trainer options on the loop", () => {
  it("truncated IS weights the loss by min(exp(old - rollout), cap) when the rollout engine disagrees", async () => {
    const run = async (tisCap: number | null) => {
      const policy = new BigramPolicy(ALPHABET, 61);
      const generate = policy.generate.bind(policy);
      // a rollout engine whose log-probs are 1 nat lower than the trainer's: exp(old - rollout) = e, capped at 2
      policy.generate = async (p, o) =>
        (await generate(p, o)).map((g) => ({ ...g, logprobs: g.logprobs.map((l) => l - 1) }));
      const byLength: TrainerPlugin = {
        name: "length-reward", // non-constant rewards, so that advantages are not all 0
        apply: (tr) =>
          tr.hooks.reward.tap("length-reward", (b) => ({
            ...b,
            samples: b.samples.map((x) => ({ ...x, reward: x.generation.ids.length })),
          })),
      };
      const t = new Trainer({
        policy,
        domains: [mathLike()],
        config: { ...small, steps: 1, tisCap },
        plugins: [byLength],
      });
      return (await t.trainStep()).pgLoss;
    };
    const plain = await run(null);
    expect(plain).not.toBe(0);
    expect(await run(2)).toBeCloseTo(2 * plain, 5);
  });

  it("rolloutBatchSize chunks generate calls; verifyConcurrency bounds verifications in flight", async () => {
    const policy = new BigramPolicy(ALPHABET, 60);
    const calls: number[] = [];
    const generate = policy.generate.bind(policy);
    policy.generate = async (prompts, o) => {
      calls.push(prompts.length);
      return generate(prompts, o);
    };
    const base = mathLike();
    let inFlight = 0;
    let peak = 0;
    const slow = {
      ...base,
      verify: async (input: Parameters<typeof base.verify>[0]) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return base.verify(input);
      },
    };
    const t = new Trainer({
      policy,
      domains: [slow],
      config: { ...small, steps: 1, rolloutBatchSize: 5, verifyConcurrency: 3 },
    });
    const m = await t.trainStep();
    expect(calls).toEqual([5, 5, 5, 1]);
    expect(peak).toBe(3);
    expect(Object.values(m.statusCounts).reduce((a, b) => a + b, 0)).toBe(16);
  });

  it("KL to a frozen reference: 0 when the policy equals it; the k3 term pulls the policy toward it", async () => {
    const run = async (reference: BigramPolicy, steps: number) => {
      const kls: number[] = [];
      await new Trainer({
        policy: new BigramPolicy(ALPHABET, 30),
        reference,
        domains: [mathLike()],
        config: { ...small, steps, kl: { coef: 1, estimator: "k3" }, optimizer: { lr: 0.2, weightDecay: 0 } },
        metrics: (r) => {
          if (r.type === "step") kls.push((r as unknown as StepMetrics).kl ?? Number.NaN);
        },
      }).run();
      return kls;
    };
    expect((await run(new BigramPolicy(ALPHABET, 30), 1))[0]).toBeCloseTo(0, 6);
    // a far-away reference (init scale 1): rewards are ~all 0, so the KL term drives the update and KL shrinks
    const kls = await run(new BigramPolicy(ALPHABET, 31, 1), 12);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(kls.slice(0, 3))).toBeGreaterThan(0.05);
    expect(mean(kls.slice(-3))).toBeLessThan(0.6 * mean(kls.slice(0, 3)));
    expect(
      () =>
        new Trainer({
          policy: new BigramPolicy(ALPHABET, 1),
          domains: [mathLike()],
          config: { kl: { coef: 0.1 } },
        }),
    ).toThrow(/reference/);
  });

  it("overlong penalty is added to the verifier reward per sample", async () => {
    const seen: { len: number; terms: Record<string, number>; reward: number }[] = [];
    const probe: TrainerPlugin = {
      name: "probe",
      apply: (tr) =>
        tr.hooks.advantage.tap("probe", (batch) => {
          for (const s of batch.samples)
            seen.push({ len: s.generation.ids.length, terms: s.rewardTerms, reward: s.reward });
          return batch;
        }),
    };
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 31, 0),
      domains: [mathLike()],
      config: {
        ...small,
        steps: 1,
        sampling: { maxNewTokens: 4 },
        overlong: { enabled: true, cacheLength: 2, factor: 1 },
      },
      plugins: [probe],
    });
    await t.trainStep();
    expect(seen.length).toBe(16);
    for (const s of seen) {
      // L_max 4, L_cache 2: 0 for L <= 2, (2 - L)/2 for 2 < L <= 4
      const expected = s.len <= 2 ? 0 : (2 - s.len) / 2;
      expect(s.terms.overlong).toBeCloseTo(expected, 12);
      expect(s.reward).toBeCloseTo(s.terms.verifier + expected, 12);
    }
    expect(seen.some((s) => s.len > 2)).toBe(true);
  });
});

describe("run cadence", () => {
  it("evaluates and checkpoints on schedule; the sequential scheduler's batches are one domain per phase", async () => {
    const records: { type: string; step: number }[] = [];
    const evals: number[] = [];
    const stores: number[] = [];
    const t = new Trainer({
      policy: new BigramPolicy(ALPHABET, 40),
      domains: [mathLike(), codeLike()],
      config: {
        ...small,
        steps: 4,
        evalEvery: 2,
        checkpointAtEnd: true,
        computeEntropy: false,
        scheduler: { name: "sequential", options: { stepsPerDomain: 2 } },
      },
      eval: { maxNewTokens: 4 },
      checkpointStore: (step) => {
        stores.push(step);
        return new MemoryFileStore(`ck-${step}`);
      },
      plugins: [
        {
          name: "eval-probe",
          apply: (tr) => tr.hooks.evaluate.tap("eval-probe", (_r, ctx) => void evals.push(ctx.step)),
        },
      ],
      metrics: (r) => void records.push(r),
    });
    await t.run();
    expect(evals).toEqual([2, 4]);
    expect(stores).toEqual([4]);
    const steps = records.filter((r) => r.type === "step") as unknown as StepMetrics[];
    expect(steps.map((m) => [...new Set(m.batchDomains)])).toEqual([
      ["alpha"],
      ["alpha"],
      ["beta"],
      ["beta"],
    ]);
    expect(steps[0].entropy).toBeNull();
    expect(records.map((r) => r.type)).toEqual([
      "step",
      "step",
      "eval",
      "step",
      "step",
      "eval",
      "checkpoint",
      "run",
    ]);
  });
});

describe("memory", () => {
  it("leaks no tensors across steps (KL, entropy, PPO epochs, micro-batches, MOPD)", async () => {
    const grpo = new Trainer({
      policy: new BigramPolicy(ALPHABET, 50),
      reference: new BigramPolicy(ALPHABET, 51),
      domains: [mathLike()],
      config: {
        ...small,
        steps: 5,
        kl: { coef: 0.1 },
        entropyCoef: 0.01,
        ppoEpochs: 2,
        miniBatches: 2,
        microBatchSize: 3,
      },
    });
    await grpo.trainStep();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await grpo.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    const teacher = new BigramPolicy(ALPHABET, 52);
    const mopd = new Trainer({
      policy: new BigramPolicy(ALPHABET, 53),
      domains: [mathLike()],
      teachers: new Map([["alpha", teacher]]),
      config: { ...small, algorithm: "mopd" },
    });
    await mopd.trainStep();
    const before2 = tf.memory().numTensors;
    await mopd.trainStep();
    await mopd.evaluate({ maxNewTokens: 4 });
    expect(tf.memory().numTensors).toBe(before2);
  });
});
