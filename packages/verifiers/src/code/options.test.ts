/**
 * The code domain's options are declared once (schema.ts CODE_OPTIONS). The defaults below are written out
 * literally, as the code stated them before the declaration (verifyCode's and create's `??` fallbacks,
 * parseCodeGroundTruth's default language, DEFAULT_CODE_SYNTHETIC and the generator's `teacherErrorRate ?? 0`):
 * a change of a default shows up here.
 */
import { defaultsOf, type JSONSchema, validateWithSchema, withDefaults } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { codeDomainFactory } from "./domain.ts";
import { DEFAULT_CODE_SYNTHETIC } from "./generator.ts";
import { CODE_OPTIONS, CODE_OPTIONS_SCHEMA, CODE_VERIFY_OPTIONS } from "./schema.ts";

/** Paths of every `default` keyword in a schema. */
function defaultKeywords(s: unknown, path = ""): string[] {
  if (typeof s !== "object" || s === null) return [];
  return Object.entries(s).flatMap(([k, v]) =>
    k === "default" ? [path || "."] : defaultKeywords(v, path ? `${path}.${k}` : k),
  );
}

const SYNTHETIC = {
  difficulty: 3,
  languages: ["python"],
  testsPerTask: 3,
  evalFraction: 0.2,
  teacherErrorRate: 0,
};
const VERIFY = { reward: "all", testIsolation: "process", thinkGate: "optional", defaultLanguage: "python" };

describe("code options: one declaration", () => {
  it("derives the defaults used before (name code; limits, concurrency, template, data, defaultCount absent)", () => {
    expect(defaultsOf(CODE_OPTIONS)).toEqual({ name: "code", ...VERIFY, synthetic: SYNTHETIC });
    expect(defaultsOf(CODE_VERIFY_OPTIONS)).toEqual(VERIFY);
    expect(DEFAULT_CODE_SYNTHETIC).toEqual(SYNTHETIC);
  });

  it("given options go over the defaults key by key (a synthetic block stays partial)", () => {
    expect(withDefaults(CODE_OPTIONS, { reward: "fraction", synthetic: { levels: [6] } })).toEqual({
      name: "code",
      ...VERIFY,
      reward: "fraction",
      synthetic: { ...SYNTHETIC, levels: [6] },
    });
  });

  it("registers the derived schema, which carries no defaults and describes every key", () => {
    expect(codeDomainFactory.optionsSchema).toBe(CODE_OPTIONS_SCHEMA);
    expect(defaultKeywords(CODE_OPTIONS_SCHEMA)).toEqual([]);
    const props = CODE_OPTIONS_SCHEMA.properties as Record<string, JSONSchema>;
    for (const [k, v] of Object.entries(props)) expect(typeof v.description, k).toBe("string");
  });

  it("accepts and refuses what it did before", () => {
    const ok = (o: object) => validateWithSchema("code", CODE_OPTIONS_SCHEMA, o);
    expect(
      ok({
        reward: "fraction",
        testIsolation: "sandbox",
        defaultLanguage: "javascript",
        limits: { wallMs: 10, cpuSeconds: 600, memoryBytes: 16 * 1024 * 1024 },
        concurrency: 256,
        synthetic: { languages: ["javascript", "python"], testsPerTask: 20, levels: [1, 6] },
      }),
    ).toEqual([]);
    for (const bad of [
      { reward: "some" },
      { testIsolation: "thread" },
      { defaultLanguage: "ruby" },
      { limits: { wallMs: 5 } },
      { limits: { gpus: 1 } },
      { concurrency: 0 },
      { concurrency: 257 },
      { synthetic: { difficulty: 7 } },
      { synthetic: { difficulty: 2, levels: [6] } },
      { synthetic: { levels: [0] } },
      { synthetic: { languages: ["ruby"] } },
      { synthetic: { testsPerTask: 21 } },
    ])
      expect(ok(bad).length, JSON.stringify(bad)).toBeGreaterThan(0);
  });
});
