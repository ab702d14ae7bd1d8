/**
 * `@m2rl/core/plugin/lite`: everything of `@m2rl/core/plugin` but options validation (validateWithSchema,
 * compileSchema, ajvErrorsToProblems), so that importing it does not load ajv (~40 ms of start-up): for programs
 * that look merge methods or other registry entries up and never check a plugin's options, such as `m2rl merge`.
 * A PluginHost's validateOptions needs `@m2rl/core/plugin` imported somewhere in the process (it installs the ajv
 * validator); without it, validateOptions throws a PluginError saying so.
 */
export * from "../define.ts";
export * from "../from-module.ts";
export * from "../host.ts";
export * from "../options.ts";
export * from "../problem.ts";
export * from "../registry.ts";
export * from "../schema.ts";
export * from "../suggest.ts";
