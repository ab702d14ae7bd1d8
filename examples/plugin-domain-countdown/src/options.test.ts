/**
 * The countdown options are declared once (generator.ts COUNTDOWN_OPTIONS). The defaults below are written out
 * literally, as the code stated them before the declaration (DEFAULT_OPTIONS and the schema's `default` keywords).
 */
import { defaultsOf, type JSONSchema, validateWithSchema, withDefaults } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { countdownDomain, countdownOptionsSchema } from "./domain.ts";
import { COUNTDOWN_OPTIONS, DEFAULT_OPTIONS } from "./generator.ts";

const DEFAULTS = {
  count: 4,
  minNumber: 1,
  maxNumber: 25,
  minTarget: 1,
  maxTarget: 200,
  operators: ["+", "-", "*", "/"],
  useAll: false,
  evalFraction: 0.2,
  formatReward: 0,
  thinkEndTag: "</think>",
};

describe("countdown options: one declaration", () => {
  it("derives the defaults used before, and given options go over them", () => {
    expect(defaultsOf(COUNTDOWN_OPTIONS)).toEqual(DEFAULTS);
    expect(DEFAULT_OPTIONS).toEqual(DEFAULTS);
    expect(withDefaults(COUNTDOWN_OPTIONS, { count: 3, operators: ["+"] })).toEqual({
      ...DEFAULTS,
      count: 3,
      operators: ["+"],
    });
  });

  it("registers the derived schema: no defaults in it, every key described, same bounds as before", () => {
    expect(countdownDomain.optionsSchema).toBe(countdownOptionsSchema);
    expect(JSON.stringify(countdownOptionsSchema)).not.toContain('"default"');
    for (const [k, v] of Object.entries(countdownOptionsSchema.properties as Record<string, JSONSchema>))
      expect(typeof v.description, k).toBe("string");
    const ok = (o: object) => validateWithSchema("countdown", countdownOptionsSchema, o);
    expect(ok({ count: 6, maxNumber: 1000, maxTarget: 1000000, operators: ["/"], formatReward: 1 })).toEqual(
      [],
    );
    for (const bad of [
      { count: 1 },
      { count: 7 },
      { minNumber: 0 },
      { maxNumber: 1001 },
      { operators: [] },
      { operators: ["+", "+"] },
      { evalFraction: 1 },
      { formatReward: 2 },
      { thinkEndTag: "" },
      { extra: 1 },
    ])
      expect(ok(bad).length, JSON.stringify(bad)).toBeGreaterThan(0);
  });
});
