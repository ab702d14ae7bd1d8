/** The three E1 domains through the Domain contract: plugins, generators, splits, references, verify. */
import { type DomainFactory, type JSONSchema, PluginHost, type Task, validateWithSchema } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { codeDomainFactory } from "./code/index.ts";
import { ifevalDomainFactory, ifevalPlugin, verifyIfeval } from "./ifeval/index.ts";
import { builtinPlugins } from "./index.ts";
import { evaluateArithmetic, mathDomainFactory, mathPlugin } from "./math/index.ts";
import { scienceDomainFactory, sciencePlugin } from "./science/index.ts";

const factories = [
  ["math", mathDomainFactory],
  ["science", scienceDomainFactory],
  ["ifeval", ifevalDomainFactory],
] as const;

// biome-ignore lint/suspicious/noExplicitAny: the three factories have different option / ground-truth types
describe.each(factories as unknown as [string, DomainFactory<any, any>][])("%s domain", (name, factory) => {
  it("has an options schema that rejects unknown keys", () => {
    expect(factory.optionsSchema?.type).toBe("object");
    expect(factory.optionsSchema?.additionalProperties).toBe(false);
  });

  it("generates deterministic, non-overlapping train/eval splits with short prompts", async () => {
    const d = await factory.create({}, {});
    const train = await d.tasks({ split: "train", seed: 1, count: 300 });
    const again = await d.tasks({ split: "train", seed: 1, count: 300 });
    const other = await d.tasks({ split: "train", seed: 2, count: 300 });
    const ev = await d.tasks({ split: "eval", seed: 1, count: 60 });
    expect(train.map((t) => t.prompt)).toEqual(again.map((t) => t.prompt));
    expect(train.map((t) => t.prompt)).not.toEqual(other.map((t) => t.prompt));
    expect(train.length).toBe(300);
    expect(ev.length).toBe(60);
    const trainPrompts = new Set(train.map((t) => t.prompt));
    const otherPrompts = new Set(other.map((t) => t.prompt));
    for (const t of ev) {
      expect(trainPrompts.has(t.prompt)).toBe(false);
      expect(otherPrompts.has(t.prompt)).toBe(false);
    }
    expect(new Set(train.map((t) => t.id)).size).toBe(train.length);
    for (const t of [...train, ...ev]) {
      expect(t.domain).toBe(name);
      expect(t.prompt.length).toBeLessThanOrEqual(40);
      expect(t.reference).toBeDefined();
      expect((t.reference as string).length).toBeLessThanOrEqual(16);
    }
  });

  it("grades every reference correct and a wrong answer not correct", async () => {
    const d = await factory.create({}, {});
    const tasks: Task[] = [
      ...(await d.tasks({ split: "train", seed: 5, count: 200 })),
      ...(await d.tasks({ split: "eval", seed: 5, count: 50 })),
    ];
    for (const t of tasks) {
      const v = await d.verify({ response: t.reference as string, groundTruth: t.groundTruth, task: t });
      expect({ prompt: t.prompt, status: v.status, detail: v.detail }).toMatchObject({ status: "correct" });
      const w = await d.verify({ response: "zzz", groundTruth: t.groundTruth });
      expect(w.reward).toBe(0);
      const echo = await d.verify({ response: t.prompt, groundTruth: t.groundTruth });
      expect({ prompt: t.prompt, reward: echo.reward }).toEqual({ prompt: t.prompt, reward: 0 });
    }
  });

  it("uses a small character vocabulary", async () => {
    const d = await factory.create({}, {});
    const tasks = await d.tasks({ split: "train", seed: 9, count: 500 });
    const chars = new Set<string>();
    for (const t of tasks) for (const c of t.prompt + t.reference) chars.add(c);
    expect(chars.size).toBeLessThanOrEqual(70);
  });

  it("honours the think gate option", async () => {
    const d = await factory.create({ thinkGate: "required" }, {});
    const [t] = await d.tasks({ split: "eval", seed: 1, count: 1 });
    expect((await d.verify({ response: t.reference as string, groundTruth: t.groundTruth })).status).toBe(
      "unparsable",
    );
    expect(
      (await d.verify({ response: `<think>hmm</think>${t.reference}`, groundTruth: t.groundTruth })).status,
    ).toBe("correct");
  });

  it("never throws on bad input", async () => {
    const d = await factory.create({}, {});
    for (const gt of [undefined, null, 42, {}, [], "x"]) {
      const v = await d.verify({ response: "\\boxed{", groundTruth: gt as never });
      expect(["error", "unparsable", "incorrect"]).toContain(v.status);
      expect(v.reward).toBe(0);
    }
  });
});

describe("plugins", () => {
  it("register math, science and ifeval on a plugin host", () => {
    const host = new PluginHost([mathPlugin, sciencePlugin, ifevalPlugin]);
    expect(host.registry.domains.get("math")).toBe(mathDomainFactory);
    expect(host.registry.domains.get("science")).toBe(scienceDomainFactory);
    expect(host.registry.domains.get("ifeval")).toBe(ifevalDomainFactory);
  });
  it("builtinPlugins include the four domains", () => {
    const host = new PluginHost(builtinPlugins);
    for (const n of ["math", "code", "science", "ifeval"]) expect(host.registry.domains.has(n)).toBe(true);
  });
});

describe("generator knobs", () => {
  it("math: operators, operand range and terms", async () => {
    const d = await mathDomainFactory.create({ synthetic: { ops: ["*"], maxOperand: 9, terms: 3 } }, {});
    const tasks = await d.tasks({ split: "train", seed: 1, count: 100 });
    for (const t of tasks) {
      expect(t.prompt).toMatch(/^\d\*\d\*\d=$/);
      expect(Number(t.groundTruth)).toBe(evaluateArithmetic(t.prompt.slice(0, -1)));
    }
  });
  it("math: precedence of * over + and -", () => {
    expect(evaluateArithmetic("2+3*4")).toBe(14);
    expect(evaluateArithmetic("10-2*3+1")).toBe(5);
    expect(evaluateArithmetic("7")).toBe(7);
  });
  it("science: number of choices", async () => {
    const d = await scienceDomainFactory.create({ synthetic: { choices: 2, families: ["element"] } }, {});
    for (const t of await d.tasks({ split: "train", seed: 1, count: 50 })) {
      expect(t.prompt).toMatch(/A\)\S+ B\)\S+$/);
      expect(["A", "B"]).toContain(t.groundTruth);
    }
  });
  it("ifeval: with maxWords 3 every reference still passes (language detection included)", async () => {
    const d = await ifevalDomainFactory.create({ synthetic: { maxWords: 3 } }, {});
    for (const split of ["train", "eval"] as const) {
      for (const t of await d.tasks({ split, seed: 3, count: 600 })) {
        const v = await d.verify({ response: t.reference as string, groundTruth: t.groundTruth });
        expect({ prompt: t.prompt, status: v.status }).toEqual({ prompt: t.prompt, status: "correct" });
      }
    }
  });
  it("ifeval: families restrict the instruction ids", async () => {
    const d = await ifevalDomainFactory.create({ synthetic: { families: ["caps"] } }, {});
    for (const t of await d.tasks({ split: "train", seed: 1, count: 30 })) {
      expect(t.groundTruth.instruction_id_list).toContain("change_case:english_capital");
      expect(verifyIfeval((t.reference as string).toLowerCase(), t.groundTruth).reward).toBe(0);
    }
  });
});

describe("options schemas (validated by core's ajv)", () => {
  const good: Record<string, Record<string, unknown>> = {
    math: {
      thinkGate: "required",
      extraction: ["boxed", "last_number"],
      tolerance: 1e-4,
      data: { train: "a.jsonl", eval: "b.parquet" },
      synthetic: { maxOperand: 50, ops: ["+", "*"], terms: 3, evalFraction: 0.1 },
    },
    science: {
      maxChoices: 4,
      heuristics: false,
      relTolerance: 0.05,
      synthetic: { choices: 4, families: ["unit"] },
    },
    ifeval: {
      mode: "loose",
      reward: "fraction",
      languageMinLength: 20,
      synthetic: { families: ["caps"], maxWords: 3 },
    },
  };
  const bad: [string, Record<string, unknown>, string][] = [
    ["math", { extraction: ["boxd"] }, "extraction"],
    ["math", { tolerance: -1 }, "tolerance"],
    ["math", { synthetic: { ops: ["/"] } }, "ops"],
    ["math", { thinkGate: "yes" }, "thinkGate"],
    ["math", { unknownKey: 1 }, "unknownKey"],
    ["science", { synthetic: { choices: 9 } }, "choices"],
    ["math", { synthetic: { teacherErrorRate: 1.5 } }, "teacherErrorRate"],
    ["science", { synthetic: { teacherErrorRate: -0.1 } }, "teacherErrorRate"],
    ["ifeval", { mode: "lenient" }, "mode"],
    ["ifeval", { data: { train: 3 } }, "train"],
  ];
  const byName = Object.fromEntries(factories);
  it.each(Object.entries(good))("%s accepts a full valid option set", (name, options) => {
    expect(validateWithSchema(name, byName[name].optionsSchema as JSONSchema, options)).toEqual([]);
  });
  it("code: `levels` and `difficulty` are refused together (one would be ignored); either alone is accepted", () => {
    const schema = codeDomainFactory.optionsSchema as JSONSchema;
    expect(
      validateWithSchema("code", schema, { synthetic: { levels: [6], teacherErrorRate: 0.35 } }),
    ).toEqual([]);
    expect(validateWithSchema("code", schema, { synthetic: { difficulty: 6 } })).toEqual([]);
    const both = validateWithSchema("code", schema, { synthetic: { difficulty: 2, levels: [6] } });
    expect(both.length).toBeGreaterThan(0);
    expect(JSON.stringify(both)).toContain("synthetic");
    expect(validateWithSchema("code", schema, { synthetic: { levels: [7] } }).length).toBeGreaterThan(0);
  });
  it.each(bad)("%s rejects %j", (name, options, where) => {
    const problems = validateWithSchema(name, byName[name].optionsSchema as JSONSchema, options);
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).toContain(where);
  });
});
