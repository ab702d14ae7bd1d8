import { describe, expect, it } from "vitest";
import published from "../../schema/experiment.schema.json" with { type: "json" };
import { validateWithSchema } from "../plugin/validate.ts";
import { DEFAULT_TRAINER_CONFIG } from "../trainer/config.ts";
import { experimentSchema } from "./schema.ts";

describe("experiment schema", () => {
  it("the published JSON file is current (regenerate: npm run schema -w @m2rl/core)", () => {
    expect(published).toEqual(JSON.parse(JSON.stringify(experimentSchema)));
  });

  it("accepts a minimal experiment and fills its defaults", () => {
    const doc: Record<string, unknown> = {
      name: "m",
      policy: { builtin: "tiny" },
      domains: { a: {} },
      arms: { base: null },
    };
    expect(validateWithSchema(undefined, experimentSchema, doc)).toEqual([]);
    expect(doc).toMatchObject({ seed: 0, plugins: [], trainer: {}, analysis: [] });
    expect(doc.evaluation).toEqual({ samples: 1, passAtK: [1], temperature: 0, topP: 1 });
  });

  it("seeds: a non-empty list of distinct integers >= 0", () => {
    const doc = (seeds: unknown) => ({
      name: "m",
      policy: { builtin: "tiny" },
      domains: { a: {} },
      arms: {},
      seeds,
    });
    const errors = (seeds: unknown) =>
      validateWithSchema(undefined, experimentSchema, doc(seeds)).filter((p) => p.path[0] === "seeds").length;
    expect(errors([0, 1, 2])).toBe(0);
    expect(errors([5])).toBe(0);
    for (const bad of [[], [1, 1], [-1], [0.5], ["0"], 0]) expect(errors(bad)).toBeGreaterThan(0);
  });

  it("a mix arm's scheduler defaults to the trainer's default scheduler (proportional, the paper's mixture)", () => {
    const doc = {
      name: "m",
      policy: { builtin: "tiny" },
      domains: { a: {} },
      arms: { mix: {}, "mix:b": {} },
    };
    expect(validateWithSchema(undefined, experimentSchema, doc)).toEqual([]);
    expect(doc.arms).toEqual({
      mix: { scheduler: DEFAULT_TRAINER_CONFIG.scheduler.name },
      "mix:b": { scheduler: DEFAULT_TRAINER_CONFIG.scheduler.name },
    });
    expect(DEFAULT_TRAINER_CONFIG.scheduler.name).toBe("proportional");
  });

  it("rejects bad domain ids and arm ids", () => {
    const doc = { name: "m", policy: { builtin: "tiny" }, domains: { "bad id": {} }, arms: { "merge:": {} } };
    const messages = validateWithSchema(undefined, experimentSchema, doc).map(
      (p) => `${p.path.join("/")}: ${p.message}`,
    );
    expect(messages).toEqual([
      `domains/bad id: invalid key 'bad id': must match pattern "^[A-Za-z][A-Za-z0-9_-]*$"`,
      "arms/merge:: unknown key 'merge:'; arm ids are base, sft, single, single:<domain>, mix[:<label>], merge:<method>, mopd[:<label>]",
    ]);
  });
});
