import type { PathSegment, Problem } from "./problem.ts";
import type { JSONSchema } from "./schema.ts";

/**
 * How PluginHost.validateOptions checks options: ./validate.ts (ajv) puts its validateWithSchema here when it loads,
 * which `@m2rl/core/plugin` always does. Kept in its own module so that the host itself does not import ajv:
 * `@m2rl/core/plugin/lite` (the host and registries without options validation) loads none of it. Internal: not
 * re-exported.
 */
export const optionsValidation: {
  validate?: (
    owner: string | undefined,
    schema: JSONSchema,
    value: unknown,
    prefix: readonly PathSegment[],
  ) => Problem[];
} = {};
