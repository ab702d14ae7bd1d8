import type { ExperimentConfig } from "@m2rl/core";
import { DEFAULT_SFT, DEFAULT_TRAINER_CONFIG } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { armTrainerInput, deepMerge } from "../src/run/arm-trainer.ts";
import { armSeed, type ResolvedArm, resolveArm } from "../src/run/arms.ts";
import { estimateArmCost } from "../src/run/cost.ts";

const config = {
  seed: 0,
  trainer: {
    steps: 10,
    promptsPerStep: 4,
    groupSize: 4,
    scheduler: { name: "temperature", options: { temperature: 2 } },
    sampling: { maxNewTokens: 8 },
  },
} as unknown as ExperimentConfig;
const base = { source: ["arms"] };

describe("one trainer config per RL arm", () => {
  it("experiment ⊕ arm, deep; a mix arm's scheduler replaces the experiment's whole (no options leak)", () => {
    const mix = {
      ...base,
      id: "mix",
      kind: "mix" as const,
      domains: ["math", "code"],
      scheduler: "uniform",
      options: {},
      trainer: { sampling: { temperature: 0.5 } },
    };
    const input = armTrainerInput(config, mix, 7);
    expect(input.scheduler).toEqual({ name: "uniform", options: {} });
    expect(input.sampling).toEqual({ maxNewTokens: 8, temperature: 0.5 });
    expect(input.seed).toBe(7);
    expect(input.algorithm).toBeUndefined();
    // deepMerge alone would have carried the temperature scheduler's option into uniform
    expect(deepMerge(config.trainer, { scheduler: { name: "uniform", options: {} } }).scheduler).toEqual({
      name: "uniform",
      options: { temperature: 2 },
    });
  });

  it("an MOPD arm gets algorithm mopd; the resolved config fills the trainer's defaults", () => {
    const mopd = { ...base, id: "mopd", kind: "mopd" as const, domains: ["math"], trainer: { groupSize: 2 } };
    const r = resolveArm(mopd, config);
    if (r.role !== "rl") throw new Error(r.role);
    const t = r.trainer;
    expect(t.algorithm).toBe("mopd");
    expect(t.seed).toBe(armSeed(config, "mopd"));
    expect(r.trainerInput.seed).toBe(t.seed);
    expect(r.teachers).toEqual(["single:math"]);
    expect(t.groupSize).toBe(2);
    expect(t.clip).toEqual(DEFAULT_TRAINER_CONFIG.clip);
  });

  it("the dry-run cost reads the same config: samples = steps × prompts × group size of the arm", () => {
    const single = {
      ...base,
      id: "single:math",
      kind: "single" as const,
      domain: "math",
      trainer: { steps: 3 },
    };
    const resolved: ResolvedArm = resolveArm(single, config);
    const c = estimateArmCost(resolved, 1000);
    expect(c.steps).toBe(3);
    expect(c.tokensGenerated).toBe(3 * 4 * 4 * 8);
    // an imported checkpoint costs nothing here
    expect(estimateArmCost(resolveArm({ ...single, checkpoint: "hf" }, config), 1000).flops).toBe(0);
  });

  it("SFT resolves policy.sft over its declared defaults, seeded with the arm's seed", () => {
    const c = { ...config, policy: { source: "builtin", builtin: "tiny", model: {}, sft: { steps: 7 } } };
    const withJudge = {
      ...c,
      evaluation: { selfJudge: { tasks: 2, sftExamples: 5 } },
    } as unknown as ExperimentConfig;
    const r = resolveArm({ ...base, id: "sft", kind: "sft" }, withJudge);
    if (r.role !== "sft") throw new Error(r.role);
    expect(r.options).toEqual({ ...DEFAULT_SFT, steps: 7, seed: armSeed(c as ExperimentConfig, "sft") });
    expect(r.judgeExamples).toBe(5);
    const cost = estimateArmCost(r, 1000);
    expect(cost.steps).toBe(7);
    expect(cost.tokensTrained).toBe(7 * DEFAULT_SFT.batchSize * 32);
  });
});
