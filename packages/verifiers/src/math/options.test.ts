/**
 * The math domain's options are declared once (schema.ts MATH_OPTIONS). The defaults below are written out
 * literally, as the code stated them before the declaration (resolveMathOptions' `??` fallbacks, DEFAULT_EQUIV,
 * DEFAULT_EXTRACTION, DEFAULT_MATH_SYNTHETIC): a change of a default shows up here.
 */
import { defaultsOf, type JSONSchema, validateWithSchema, withDefaults } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { mathDomainFactory, resolveMathOptions } from "./domain.ts";
import { DEFAULT_EQUIV } from "./equiv.ts";
import { DEFAULT_MATH_SYNTHETIC } from "./generator.ts";
import { MATH_OPTIONS, MATH_OPTIONS_SCHEMA } from "./schema.ts";
import { DEFAULT_MATH_OPTIONS } from "./verify.ts";

/** Paths of every `default` keyword in a schema. */
function defaultKeywords(s: unknown, path = ""): string[] {
  if (typeof s !== "object" || s === null) return [];
  return Object.entries(s).flatMap(([k, v]) =>
    k === "default" ? [path || "."] : defaultKeywords(v, path ? `${path}.${k}` : k),
  );
}

const SYNTHETIC = {
  maxOperand: 20,
  ops: ["+", "-"],
  terms: 2,
  evalFraction: 0.2,
  allowNegative: false,
  teacherErrorRate: 0,
};
const VERIFY = {
  thinkGate: "optional",
  extraction: ["boxed", "answer_phrase", "last_number"],
  tolerance: 1e-6,
  percentAsFraction: true,
  equationRhs: true,
  unorderedLists: true,
};

describe("math options: one declaration", () => {
  it("derives the defaults used before (name math, no template / data / defaultCount)", () => {
    expect(defaultsOf(MATH_OPTIONS)).toEqual({ name: "math", ...VERIFY, synthetic: SYNTHETIC });
    expect(resolveMathOptions()).toEqual(VERIFY);
    expect(DEFAULT_MATH_OPTIONS).toEqual(VERIFY);
    expect(DEFAULT_EQUIV).toEqual({
      tolerance: 1e-6,
      percentAsFraction: true,
      equationRhs: true,
      unorderedLists: true,
    });
    expect(DEFAULT_MATH_SYNTHETIC).toEqual(SYNTHETIC);
  });

  it("given options go over the defaults key by key (a synthetic block stays partial)", () => {
    expect(resolveMathOptions({ tolerance: 0.01, extraction: ["last_number"] })).toEqual({
      ...VERIFY,
      tolerance: 0.01,
      extraction: ["last_number"],
    });
    expect(withDefaults(MATH_OPTIONS, { synthetic: { maxOperand: 99, ops: ["*"] } }).synthetic).toEqual({
      ...SYNTHETIC,
      maxOperand: 99,
      ops: ["*"],
    });
  });

  it("registers the derived schema, which carries no defaults and describes every key", () => {
    expect(mathDomainFactory.optionsSchema).toBe(MATH_OPTIONS_SCHEMA);
    expect(defaultKeywords(MATH_OPTIONS_SCHEMA)).toEqual([]);
    const props = MATH_OPTIONS_SCHEMA.properties as Record<string, JSONSchema>;
    for (const [k, v] of Object.entries(props)) expect(typeof v.description, k).toBe("string");
    const block = { synthetic: { maxOperand: 99 } };
    expect(validateWithSchema("math", MATH_OPTIONS_SCHEMA, block)).toEqual([]);
    expect(block).toEqual({ synthetic: { maxOperand: 99 } });
  });

  it("accepts and refuses what it did before", () => {
    const ok = (o: object) => validateWithSchema("math", MATH_OPTIONS_SCHEMA, o);
    expect(
      ok({
        name: "m",
        extraction: ["boxed"],
        tolerance: 0.1,
        promptTemplate: "Q: {prompt}",
        defaultCount: 1,
      }),
    ).toEqual([]);
    expect(ok({ data: { train: "t.jsonl", eval: "e.parquet", format: "parquet" } })).toEqual([]);
    expect(ok({ synthetic: { maxSecondOperand: 9, ops: ["*"], terms: 4, allowNegative: true } })).toEqual([]);
    for (const bad of [
      { name: "" },
      { extraction: [] },
      { extraction: ["boxed", "boxed"] },
      { tolerance: 0.2 },
      { defaultCount: 0 },
      { data: { test: "x" } },
      { synthetic: { maxOperand: 0 } },
      { synthetic: { maxOperand: 100001 } },
      { synthetic: { terms: 5 } },
      { synthetic: { evalFraction: 1 } },
      { synthetic: { ops: [] } },
      { thinkGate: "on" },
    ])
      expect(ok(bad).length, JSON.stringify(bad)).toBeGreaterThan(0);
  });
});
