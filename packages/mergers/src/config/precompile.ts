/**
 * What scripts/merge-validators.ts compiles ahead of time into ./validators.generated.ts, and the options and keys
 * both sides share. Kept apart from ./validators.ts (which imports the generated file) so that the generator does
 * not depend on its own output.
 */
import { createHash } from "node:crypto";
import type { MergeMethod } from "@m2rl/core/merge";
import type { JSONSchema } from "@m2rl/core/plugin";
import type { Options } from "ajv";
import { METHODS } from "../methods/index.ts";
import { mergeParametersSchema, type ParamsLevel } from "./params-schema.ts";
import { mergeConfigSchema } from "./schema.ts";
import { relaxedMethod } from "./slices.ts";

/**
 * The schemas are M2RL's own (tested), so ajv neither checks them against its meta-schema nor optimises the
 * validators' code when it compiles one at run time (~4x faster to compile), and stops at the first error.
 */
export const CONFIG_AJV_OPTIONS = {
  allErrors: false,
  strict: false,
  validateSchema: false,
  code: { optimize: false },
} as const satisfies Options;

/** Parameters blocks: as the config, and each error carries the offending value (`verbose`: `error.data`). */
export const PARAMS_AJV_OPTIONS = { ...CONFIG_AJV_OPTIONS, verbose: true } as const satisfies Options;

/** What a precompiled validator is looked up by: the SHA-256 (hex, first 32 digits) of its schema's JSON. */
export function schemaKey(schema: JSONSchema): string {
  return createHash("sha256").update(JSON.stringify(schema)).digest("hex").slice(0, 32);
}

/** The config schemas compiled ahead of time: the mergekit config's. */
export function precompiledConfigSchemas(): JSONSchema[] {
  return [mergeConfigSchema];
}

/**
 * The parameters schemas compiled ahead of time: every built-in method's, at both levels, and the global one of
 * its relaxed variant (a slice's `parameters:`, where a required parameter may be set per slice). In a fixed
 * order, duplicates dropped.
 */
export function precompiledParamsSchemas(methods: Iterable<MergeMethod> = METHODS.values()): JSONSchema[] {
  const out = new Map<string, JSONSchema>();
  const add = (m: MergeMethod, level: ParamsLevel) => {
    const schema = mergeParametersSchema(m.parameters, level);
    const key = schemaKey(schema);
    if (!out.has(key)) out.set(key, schema);
  };
  for (const m of methods) {
    add(m, "global");
    add(m, "model");
    add(relaxedMethod(m), "global");
  }
  return [...out.values()];
}
