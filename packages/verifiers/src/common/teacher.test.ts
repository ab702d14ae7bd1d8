/**
 * The noisy teacher of the synthetic generators: `teacherErrorRate` ε replaces the SFT reference of a seeded
 * fraction ε of the tasks with the domain's typical mistake. The mistake must fail the verifier, the ground truth
 * and the prompts must not change, and ε = 0 must leave every reference right.
 */
import type { DomainFactory, Task } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { ifevalDomainFactory } from "../ifeval/index.ts";
import { mathDomainFactory } from "../math/index.ts";
import { scienceDomainFactory } from "../science/index.ts";
import { teacherSlips } from "./synthetic.ts";

type Case = [
  string,
  DomainFactory<Record<string, unknown>, unknown>,
  Record<string, unknown>,
  Record<string, unknown>?,
];
const cases: Case[] = [
  ["math", mathDomainFactory as never, { maxOperand: 99, maxSecondOperand: 9 }],
  ["science", scienceDomainFactory as never, {}],
  // Sums of integers are exact: with the default 1% relative tolerance an off-by-one answer above 100 would pass.
  [
    "science sums",
    scienceDomainFactory as never,
    { families: ["sum"], maxOperand: 99, maxSecondOperand: 9 },
    { relTolerance: 0 },
  ],
  ["ifeval", ifevalDomainFactory as never, {}],
];

describe.each(cases)("noisy teacher: %s", (_, factory, synthetic, extra = {}) => {
  it("ε = 0.35: about 35% of references carry the mistake, each graded wrong; prompts and ground truths unchanged", async () => {
    const clean = await factory.create({ ...extra, synthetic }, {});
    const noisy = await factory.create({ ...extra, synthetic: { ...synthetic, teacherErrorRate: 0.35 } }, {});
    const a = await clean.tasks({ split: "train", seed: 2, count: 1000 });
    const b = await noisy.tasks({ split: "train", seed: 2, count: 1000 });
    expect(b.map((t) => [t.prompt, t.groundTruth])).toEqual(a.map((t) => [t.prompt, t.groundTruth]));
    const slipped = b.filter((t) => t.meta?.teacherMistake === true);
    // Binomial(1000, 0.35): mean 350, sd 15; ±5 sd.
    expect(slipped.length).toBeGreaterThan(275);
    expect(slipped.length).toBeLessThan(425);
    for (const t of b) {
      const v = await noisy.verify({ response: t.reference as string, groundTruth: t.groundTruth, task: t });
      expect({ prompt: t.prompt, reference: t.reference, reward: v.reward }).toEqual({
        prompt: t.prompt,
        reference: t.reference,
        reward: t.meta?.teacherMistake ? 0 : 1,
      });
    }
  });
  it("ε = 0 leaves every reference right", async () => {
    const d = await factory.create({ synthetic: { ...synthetic, teacherErrorRate: 0 } }, {});
    const tasks: Task[] = await d.tasks({ split: "train", seed: 2, count: 300 });
    expect(tasks.some((t) => t.meta?.teacherMistake)).toBe(false);
  });
});

describe("teacherSlips", () => {
  it("depends on seed, domain and key only, and is never true at rate 0 or always at rate 1", () => {
    expect(teacherSlips("math", 1, "2+3", 0.5)).toBe(teacherSlips("math", 1, "2+3", 0.5));
    expect(teacherSlips("math", 1, "2+3", 0)).toBe(false);
    expect(teacherSlips("math", 1, "2+3", 1)).toBe(true);
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    const bySeed = (seed: number) => keys.map((k) => teacherSlips("math", seed, k, 0.5));
    expect(bySeed(1)).not.toEqual(bySeed(2));
  });
});

describe("new synthetic families", () => {
  it("math: maxSecondOperand bounds the operands after the first", async () => {
    const d = await mathDomainFactory.create({ synthetic: { maxOperand: 99, maxSecondOperand: 9 } }, {});
    const tasks = await d.tasks({ split: "eval", seed: 1, count: 200 });
    expect(tasks).toHaveLength(200);
    for (const t of tasks) {
      const m = /^(\d+)([+-])(\d+)=$/.exec(t.prompt);
      expect(m, t.prompt).not.toBeNull();
      expect(Number(m![3])).toBeLessThanOrEqual(9);
    }
    expect(tasks.some((t) => Number(/^\d+/.exec(t.prompt)![0]) > 9)).toBe(true);
  });
  it("science sums: additive laws applied to unseen numbers", async () => {
    const d = await scienceDomainFactory.create(
      { synthetic: { families: ["sum"], maxOperand: 99, maxSecondOperand: 9 } },
      {},
    );
    const tasks = await d.tasks({ split: "eval", seed: 1, count: 250 });
    expect(tasks).toHaveLength(250);
    for (const t of tasks) {
      const m = /^(\w)=\w+\+\w+ \w+=(\d+) \w+=(\d+) \1=\?$/.exec(t.prompt);
      expect(m, t.prompt).not.toBeNull();
      expect(t.groundTruth).toBe(String(Number(m![2]) + Number(m![3])));
    }
  });
});
