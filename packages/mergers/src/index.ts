// @m2rl/mergers: mergekit-compatible merge methods as M2RL plugins, and a streaming merge engine.
export * from "./config/mergekit.ts";
export * from "./config/params-schema.ts";
export * from "./config/schema.ts";
export * from "./engine/index.ts";
export * from "./merge.ts";
export * from "./methods/index.ts";
export { builtinPlugins, mergeMethodsPlugin } from "./plugin.ts";
