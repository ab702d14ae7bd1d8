/**
 * The science domain's options are declared once (schema.ts SCIENCE_OPTIONS). The defaults below are written out
 * literally, as the code stated them before the declaration (DEFAULT_SCIENCE_OPTIONS, DEFAULT_LETTER_OPTIONS,
 * DEFAULT_SCIENCE_SYNTHETIC): a change of a default shows up here.
 */
import { defaultsOf, type JSONSchema, validateWithSchema, withDefaults } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { resolveScienceOptions, scienceDomainFactory } from "./domain.ts";
import { DEFAULT_LETTER_OPTIONS } from "./extract.ts";
import { DEFAULT_SCIENCE_SYNTHETIC } from "./generator.ts";
import { SCIENCE_OPTIONS, SCIENCE_OPTIONS_SCHEMA } from "./schema.ts";
import { DEFAULT_SCIENCE_OPTIONS } from "./verify.ts";

/** Paths of every `default` keyword in a schema. */
function defaultKeywords(s: unknown, path = ""): string[] {
  if (typeof s !== "object" || s === null) return [];
  return Object.entries(s).flatMap(([k, v]) =>
    k === "default" ? [path || "."] : defaultKeywords(v, path ? `${path}.${k}` : k),
  );
}

const SYNTHETIC = {
  families: ["element", "unit", "animal", "formula", "sum"],
  choices: 3,
  evalFraction: 0.2,
  maxOperand: 9,
  teacherErrorRate: 0,
};
const VERIFY = { thinkGate: "optional", maxChoices: 10, heuristics: true, relTolerance: 0.01 };

describe("science options: one declaration", () => {
  it("derives the defaults used before (name science, no template / data / defaultCount)", () => {
    expect(defaultsOf(SCIENCE_OPTIONS)).toEqual({ name: "science", ...VERIFY, synthetic: SYNTHETIC });
    expect(resolveScienceOptions()).toEqual(VERIFY);
    expect(DEFAULT_SCIENCE_OPTIONS).toEqual(VERIFY);
    expect(DEFAULT_LETTER_OPTIONS).toEqual({ maxChoices: 10, heuristics: true });
    expect(DEFAULT_SCIENCE_SYNTHETIC).toEqual(SYNTHETIC);
  });

  it("given options go over the defaults key by key (a synthetic block stays partial)", () => {
    expect(resolveScienceOptions({ maxChoices: 4, heuristics: false })).toEqual({
      ...VERIFY,
      maxChoices: 4,
      heuristics: false,
    });
    expect(withDefaults(SCIENCE_OPTIONS, { synthetic: { choices: 2, families: ["sum"] } }).synthetic).toEqual(
      {
        ...SYNTHETIC,
        choices: 2,
        families: ["sum"],
      },
    );
  });

  it("registers the derived schema, which carries no defaults and describes every key", () => {
    expect(scienceDomainFactory.optionsSchema).toBe(SCIENCE_OPTIONS_SCHEMA);
    expect(defaultKeywords(SCIENCE_OPTIONS_SCHEMA)).toEqual([]);
    const props = SCIENCE_OPTIONS_SCHEMA.properties as Record<string, JSONSchema>;
    for (const [k, v] of Object.entries(props)) expect(typeof v.description, k).toBe("string");
  });

  it("accepts and refuses what it did before", () => {
    const ok = (o: object) => validateWithSchema("science", SCIENCE_OPTIONS_SCHEMA, o);
    expect(
      ok({ maxChoices: 26, heuristics: false, relTolerance: 1, promptTemplate: "x", defaultCount: 3 }),
    ).toEqual([]);
    expect(
      ok({ synthetic: { maxOperand: 99, maxSecondOperand: 1, choices: 4, teacherErrorRate: 1 } }),
    ).toEqual([]);
    for (const bad of [
      { maxChoices: 1 },
      { maxChoices: 27 },
      { relTolerance: 2 },
      { synthetic: { families: ["chemistry"] } },
      { synthetic: { families: [] } },
      { synthetic: { choices: 5 } },
      { synthetic: { maxOperand: 1 } },
      { synthetic: { maxSecondOperand: 100 } },
      { synthetic: { evalFraction: 0 } },
      { extraction: ["boxed"] },
    ])
      expect(ok(bad).length, JSON.stringify(bad)).toBeGreaterThan(0);
  });
});
