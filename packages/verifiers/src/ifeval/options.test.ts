/**
 * The ifeval domain's options are declared once (schema.ts IFEVAL_OPTIONS). The defaults below are written out
 * literally, as the code stated them before the declaration (DEFAULT_IFEVAL_OPTIONS, DEFAULT_DETECT,
 * DEFAULT_IF_SYNTHETIC): a change of a default shows up here.
 */
import { defaultsOf, type JSONSchema, validateWithSchema, withDefaults } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { ifevalDomainFactory, resolveIfevalOptions } from "./domain.ts";
import { DEFAULT_IFEVAL_OPTIONS } from "./evaluate.ts";
import { DEFAULT_IF_SYNTHETIC } from "./generator.ts";
import { DEFAULT_DETECT } from "./language.ts";
import { IFEVAL_OPTIONS, IFEVAL_OPTIONS_SCHEMA } from "./schema.ts";

/** Paths of every `default` keyword in a schema. */
function defaultKeywords(s: unknown, path = ""): string[] {
  if (typeof s !== "object" || s === null) return [];
  return Object.entries(s).flatMap(([k, v]) =>
    k === "default" ? [path || "."] : defaultKeywords(v, path ? `${path}.${k}` : k),
  );
}

const SYNTHETIC = {
  families: ["caps", "lower", "end", "quote", "repeat", "nocomma"],
  maxWords: 2,
  evalFraction: 0.2,
  teacherErrorRate: 0,
};
const VERIFY = { mode: "strict", reward: "all", thinkGate: "optional", detect: { minLength: 10 } };

describe("ifeval options: one declaration", () => {
  it("derives the defaults used before (name ifeval, no template / data / defaultCount)", () => {
    expect(defaultsOf(IFEVAL_OPTIONS)).toEqual({
      name: "ifeval",
      mode: "strict",
      reward: "all",
      thinkGate: "optional",
      languageMinLength: 10,
      synthetic: SYNTHETIC,
    });
    expect(resolveIfevalOptions()).toEqual(VERIFY);
    expect(DEFAULT_IFEVAL_OPTIONS).toEqual(VERIFY);
    expect(DEFAULT_DETECT).toEqual({ minLength: 10 });
    expect(DEFAULT_IF_SYNTHETIC).toEqual(SYNTHETIC);
  });

  it("given options go over the defaults key by key (a synthetic block stays partial)", () => {
    expect(resolveIfevalOptions({ mode: "loose", languageMinLength: 20 })).toEqual({
      ...VERIFY,
      mode: "loose",
      detect: { minLength: 20 },
    });
    expect(withDefaults(IFEVAL_OPTIONS, { synthetic: { maxWords: 3 } }).synthetic).toEqual({
      ...SYNTHETIC,
      maxWords: 3,
    });
  });

  it("registers the derived schema, which carries no defaults and describes every key", () => {
    expect(ifevalDomainFactory.optionsSchema).toBe(IFEVAL_OPTIONS_SCHEMA);
    expect(defaultKeywords(IFEVAL_OPTIONS_SCHEMA)).toEqual([]);
    const props = IFEVAL_OPTIONS_SCHEMA.properties as Record<string, JSONSchema>;
    for (const [k, v] of Object.entries(props)) expect(typeof v.description, k).toBe("string");
  });

  it("accepts and refuses what it did before", () => {
    const ok = (o: object) => validateWithSchema("ifeval", IFEVAL_OPTIONS_SCHEMA, o);
    expect(ok({ mode: "loose", reward: "fraction", languageMinLength: 1000, thinkGate: "off" })).toEqual([]);
    expect(ok({ synthetic: { families: ["caps", "quote"], maxWords: 1, teacherErrorRate: 0.5 } })).toEqual(
      [],
    );
    for (const bad of [
      { mode: "lenient" },
      { reward: "some" },
      { languageMinLength: 0 },
      { languageMinLength: 1001 },
      { synthetic: { families: ["shout"] } },
      { synthetic: { maxWords: 4 } },
      { data: { train: 3 } },
    ])
      expect(ok(bad).length, JSON.stringify(bad)).toBeGreaterThan(0);
  });
});
