// @m2rl/mergers: mergekit-compatible merge methods as M2RL plugins, and a streaming merge engine.
import { type Plugin, registryPlugin } from "@m2rl/core/plugin";
import { BUILTIN_METHODS } from "./methods/index.ts";

export * from "./config/mergekit.ts";
export * from "./config/schema.ts";
export * from "./engine/index.ts";
export * from "./merge.ts";
export * from "./methods/index.ts";

/** One plugin that registers every built-in merge method in `host.registry.mergeMethods`. */
export const mergeMethodsPlugin: Plugin = registryPlugin("@m2rl/mergers", {
  mergeMethods: [...BUILTIN_METHODS],
});

/** The plugins the CLI installs by default. */
export const builtinPlugins: Plugin[] = [mergeMethodsPlugin];
