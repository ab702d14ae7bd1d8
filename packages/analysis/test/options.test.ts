/**
 * Each built-in analysis declares its options once (core's options DSL): the registered JSON Schema, the type and
 * the defaults its run applies derive from that declaration. The defaults below are written out literally, as the
 * code stated them before the declarations (the schemas' `default` keywords, which ajv filled in, and the `??`
 * fallbacks of the runs and of computeWeightGeometry): a change of a default shows up here.
 */
import { defaultsOf, type JSONSchema, validateWithSchema, withDefaults } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { BUILTIN_ANALYSES } from "../src/builtins.ts";
import { DEFAULT_FOOTPRINT, GEOMETRY_OPTIONS } from "../src/geometry/compute.ts";
import { NEIGHBOURHOOD_DEFAULTS, NEIGHBOURHOOD_OPTIONS } from "../src/neighbourhood.ts";
import { PREDICTION_OPTIONS } from "../src/prediction.ts";
import { SCORES_OPTIONS } from "../src/scores.ts";
import { SKILL_OPTIONS } from "../src/skills.ts";

/** Paths of every `default` keyword in a schema. */
function defaultKeywords(s: unknown, path = ""): string[] {
  if (typeof s !== "object" || s === null) return [];
  return Object.entries(s).flatMap(([k, v]) =>
    k === "default" ? [path || "."] : defaultKeywords(v, path ? `${path}.${k}` : k),
  );
}

const schemaOf = (name: string) => BUILTIN_ANALYSES.find((a) => a.name === name)!.optionsSchema as JSONSchema;
const problems = (name: string, options: object) => validateWithSchema(name, schemaOf(name), options);

describe("analysis options: one declaration each", () => {
  it("derive the defaults used before", () => {
    expect(defaultsOf(SCORES_OPTIONS)).toEqual({ samplesPerCell: 2, maxResponseChars: 240 });
    expect(defaultsOf(SKILL_OPTIONS)).toEqual({ solvedThreshold: 0.5 });
    expect(defaultsOf(PREDICTION_OPTIONS)).toEqual({
      promptsPerDomain: 8,
      samplesPerPrompt: 1,
      maxNewTokens: 48,
      temperature: 1,
      allPairs: false,
      batch: 32,
      neighbourhood: { factor: 1.5, estimate: "sequence", bootstrapSamples: 2000 },
    });
    expect(NEIGHBOURHOOD_DEFAULTS).toEqual({ factor: 1.5, estimate: "sequence", bootstrapSamples: 2000 });
    expect(defaultsOf(GEOMETRY_OPTIONS)).toEqual({
      chunkElements: 1048576,
      perTensor: true,
      projection: { dims: 256, kind: "auto", sparsity: 4, gaussianBudget: 1e8 },
      footprint: { threshold: { kind: "bf16" } },
      subspace: { rank: 8, oversample: 4, powerIterations: 1, budgetElements: 67108864 },
    });
    expect(DEFAULT_FOOTPRINT).toEqual({ kind: "bf16" });
  });

  it("given options go over the defaults key by key; false switches a geometry block off", () => {
    expect(withDefaults(PREDICTION_OPTIONS, { batch: 4, neighbourhood: { factor: 2 } })).toMatchObject({
      batch: 4,
      promptsPerDomain: 8,
      neighbourhood: { factor: 2, estimate: "sequence", bootstrapSamples: 2000 },
    });
    expect(
      withDefaults(NEIGHBOURHOOD_OPTIONS, { mergeDomains: { "merge:x": ["a", "b"] } }).mergeDomains,
    ).toEqual({
      "merge:x": ["a", "b"],
    });
    const g = withDefaults(GEOMETRY_OPTIONS, {
      projection: false,
      footprint: { threshold: { kind: "top", fraction: 0.01 } },
      subspace: { rank: 2 },
    });
    expect(g.projection).toBe(false);
    expect(g.footprint).toEqual({ threshold: { kind: "top", fraction: 0.01 } });
    expect(g.subspace).toEqual({ rank: 2, oversample: 4, powerIterations: 1, budgetElements: 67108864 });
  });

  it("every registered schema carries no defaults and describes every key", () => {
    for (const a of BUILTIN_ANALYSES) {
      const s = a.optionsSchema as JSONSchema;
      expect(defaultKeywords(s), a.name).toEqual([]);
      expect(s).toMatchObject({ type: "object", additionalProperties: false });
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JSONSchema>))
        expect(typeof v.description, `${a.name}.${k}`).toBe("string");
    }
    const block = { samplesPerCell: 0 };
    expect(problems("scores", block)).toEqual([]);
    expect(block).toEqual({ samplesPerCell: 0 });
  });

  it("accept and refuse what they did before", () => {
    expect(problems("scores", { samplesPerCell: 5, maxResponseChars: 20 })).toEqual([]);
    expect(problems("skill-overlap", { solvedThreshold: 1 })).toEqual([]);
    expect(problems("information", {})).toEqual([]);
    expect(problems("training", {})).toEqual([]);
    expect(
      problems("prediction", {
        promptsPerDomain: 1,
        temperature: 0.5,
        allPairs: true,
        neighbourhood: { estimate: "exact", mergeDomains: { "merge:ties": ["math", "code"] } },
      }),
    ).toEqual([]);
    expect(
      problems("weight-geometry", {
        chunkElements: 1,
        seed: -3,
        perTensor: false,
        projection: { dims: 16, kind: "sparse", sparsity: 1, gaussianBudget: 0 },
        footprint: { threshold: { kind: "relative", value: 1e-3 } },
        subspace: false,
      }),
    ).toEqual([]);
    expect(
      problems("weight-geometry", { projection: false, footprint: false, subspace: { include: "q_proj" } }),
    ).toEqual([]);
    const refused: [string, object][] = [
      ["scores", { samplesPerCell: -1 }],
      ["scores", { maxResponseChars: 19 }],
      ["skill-overlap", { solvedThreshold: 1.5 }],
      ["information", { x: 1 }],
      ["training", { x: 1 }],
      ["prediction", { temperature: 0 }],
      ["prediction", { batch: 0 }],
      ["prediction", { neighbourhood: { estimate: "mean" } }],
      ["prediction", { neighbourhood: { factor: 0 } }],
      ["prediction", { neighbourhood: { mergeDomains: { "merge:x": [] } } }],
      ["weight-geometry", { projection: true }],
      ["weight-geometry", { projection: { kind: "dense" } }],
      ["weight-geometry", { footprint: { threshold: { kind: "relative" } } }],
      ["weight-geometry", { footprint: { threshold: { kind: "top", fraction: 2 } } }],
      ["weight-geometry", { subspace: { rank: 0 } }],
      ["weight-geometry", { seed: 1.5 }],
    ];
    for (const [name, o] of refused)
      expect(problems(name, o).length, `${name} ${JSON.stringify(o)}`).toBeGreaterThan(0);
  });
});
