/**
 * The ajv validators of mergekit configs: the config's shape (`mergeConfigSchema`) and each method's `parameters:`
 * blocks (`mergeParametersSchema`). Compiling them with ajv took ~60–130 ms of every `m2rl merge` start-up, so
 * the built-in ones are compiled ahead of time into standalone code (./validators.generated.ts, written by
 * scripts/merge-validators.ts: `npm run validators -w @m2rl/mergers`). Each precompiled validator is keyed by a hash
 * of its schema's JSON (./precompile.ts): a schema that is not there (a plugin method's, or a built-in one changed
 * since the file was generated) is compiled by ajv now, with the same options, so a stale file costs time, never
 * correctness; the mergers tests fail while it is stale.
 */
import { createRequire } from "node:module";
import type { JSONSchema } from "@m2rl/core/plugin";
import type { Ajv, ValidateFunction } from "ajv";
import { CONFIG_AJV_OPTIONS, PARAMS_AJV_OPTIONS, schemaKey } from "./precompile.ts";
import { PRECOMPILED } from "./validators.generated.ts";

const precompiled = PRECOMPILED as {
  config: Record<string, ValidateFunction | undefined>;
  params: Record<string, ValidateFunction | undefined>;
};

let configAjv: Ajv | undefined;
let paramsAjv: Ajv | undefined;

/**
 * ajv's class, loaded when a schema is not precompiled: a merge of the built-in methods never loads ajv (~40 ms of
 * start-up). ajv is CommonJS, so `require` loads it synchronously, as config validation is.
 */
function ajvClass(): typeof Ajv {
  return (createRequire(import.meta.url)("ajv") as typeof import("ajv")).Ajv;
}

/** The validator of a config schema (`mergeConfigSchema`): precompiled, else compiled now (CONFIG_AJV_OPTIONS). */
export function configValidator(schema: JSONSchema): ValidateFunction {
  const found = precompiled.config[schemaKey(schema)];
  if (found) return found;
  configAjv ??= new (ajvClass())(CONFIG_AJV_OPTIONS);
  return configAjv.compile(schema);
}

/**
 * The validator of a parameters schema (`mergeParametersSchema(parameters, level)`): precompiled for the built-in
 * methods, else compiled now (PARAMS_AJV_OPTIONS). The errors of either carry the same keyword, instancePath,
 * params, message and data; a precompiled one's parameters share code by `$ref`, so its schemaPath starts at the
 * parameter's schema and its `schema` / `parentSchema` lack the parameter's description.
 */
export function paramsValidator(schema: JSONSchema): ValidateFunction {
  const found = precompiled.params[schemaKey(schema)];
  if (found) return found;
  paramsAjv ??= new (ajvClass())(PARAMS_AJV_OPTIONS);
  return paramsAjv.compile(schema);
}
