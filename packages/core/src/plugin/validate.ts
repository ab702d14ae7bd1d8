import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { PluginError } from "../errors/errors.ts";
import { type PathSegment, type Problem, pointerToPath } from "./problem.ts";
import type { JSONSchema } from "./schema.ts";
import { didYouMean } from "./suggest.ts";
import { optionsValidation } from "./validation-slot.ts";

/**
 * One ajv instance for every schema of the process: all errors, defaults filled in, the failing schema kept in
 * each error (`verbose`) so that an unknown key can be matched against the known ones. `strict: false` because
 * third-party schemas may carry editor keywords (`markdownDescription`, ...) that ajv does not know. The generated
 * code is not optimised (`code.optimize: false`): config blocks of a few dozen keys validate as fast either way, and
 * compiling the experiment's schemas is ~12% of `m2rl validate`'s start-up less (0.58 → 0.51 s, same machine). Schemas
 * are still checked against the meta-schema, so a plugin's invalid schema is reported.
 */
const ajv = new Ajv({
  allErrors: true,
  verbose: true,
  useDefaults: true,
  strict: false,
  code: { optimize: false },
});

/** Compiled validators, one per schema object: each schema is compiled once. */
const compiled = new WeakMap<object, ValidateFunction>();

/** The compiled validator of `schema` (cached). Throws PluginError naming `owner` when the schema is invalid. */
export function compileSchema(schema: JSONSchema, owner: string): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn) return fn;
  try {
    // A different object with an `$id` ajv already holds (a plugin module loaded twice) replaces the old one.
    const id = typeof schema.$id === "string" ? schema.$id : undefined;
    if (id !== undefined && ajv.getSchema(id) !== undefined) ajv.removeSchema(id);
    fn = ajv.compile(schema);
  } catch (err) {
    throw new PluginError(
      `invalid options schema: ${(err as Error).message}`,
      { plugin: owner },
      { cause: err },
    );
  }
  compiled.set(schema, fn);
  return fn;
}

/**
 * Validates `value` against `schema` and returns every problem (none when valid), each with its full path
 * (`prefix` + the path inside `value`) and `plugin` set to `owner`. Defaults declared in the schema are written
 * into `value` in place (ajv `useDefaults`).
 */
export function validateWithSchema(
  owner: string | undefined,
  schema: JSONSchema,
  value: unknown,
  prefix: readonly PathSegment[] = [],
): Problem[] {
  const fn = compileSchema(schema, owner ?? "m2rl");
  if (fn(value)) return [];
  return ajvErrorsToProblems(fn.errors ?? [], value, prefix, owner);
}

// PluginHost.validateOptions validates with this (the host module itself does not import ajv)
optionsValidation.validate = validateWithSchema;

/** Turns ajv errors into readable problems: unknown keys with a did-you-mean, enum values listed, noise dropped. */
export function ajvErrorsToProblems(
  errors: readonly ErrorObject[],
  data: unknown,
  prefix: readonly PathSegment[],
  plugin: string | undefined,
): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const push = (p: Problem) => {
    const key = `${JSON.stringify(p.path)}\u0000${p.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(plugin === undefined ? p : { ...p, plugin });
  };
  for (const e of errors) {
    const path = [...prefix, ...pointerToPath(e.instancePath, data)];
    switch (e.keyword) {
      // "must match then/else schema" and the outer propertyNames error only repeat the inner, precise errors.
      case "if":
      case "propertyNames":
        break;
      case "additionalProperties": {
        const key = String(e.params.additionalProperty);
        const parent = e.parentSchema as
          | { properties?: Record<string, unknown>; "x-key-hint"?: string }
          | undefined;
        const known = Object.keys(parent?.properties ?? {});
        const hint = didYouMean(key, known);
        const keyHint = parent?.["x-key-hint"];
        const list = keyHint
          ? `; ${keyHint}`
          : hint || known.length === 0
            ? ""
            : `; known keys: ${known.join(", ")}`;
        push({ path: [...path, key], message: `unknown key '${key}'${hint}${list}`, at: "key" });
        break;
      }
      case "required":
        push({ path, message: `missing required key '${String(e.params.missingProperty)}'` });
        break;
      case "type":
        push({
          path,
          message: `must be ${String(e.params.type).replace(/,/g, " or ")} (got ${describe(e.data)})`,
        });
        break;
      case "enum": {
        const allowed = (e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v));
        const hint = typeof e.data === "string" ? didYouMean(e.data, e.params.allowedValues as string[]) : "";
        push({ path, message: `must be one of ${allowed.join(", ")} (got ${describe(e.data)})${hint}` });
        break;
      }
      default:
        if (e.propertyName !== undefined) {
          push({
            path: [...path, e.propertyName],
            message: `invalid key '${e.propertyName}': ${e.message ?? e.keyword}`,
            at: "key",
          });
        } else {
          push({ path, message: e.message ?? e.keyword });
        }
    }
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}
