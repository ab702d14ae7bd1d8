import { type Plugin, registryPlugin } from "@m2rl/core/plugin/lite";
import { BUILTIN_METHODS } from "./methods/index.ts";

/** One plugin that registers every built-in merge method in `host.registry.mergeMethods`. */
export const mergeMethodsPlugin: Plugin = registryPlugin("@m2rl/mergers", {
  mergeMethods: [...BUILTIN_METHODS],
});

/** The plugins the CLI installs by default. */
export const builtinPlugins: Plugin[] = [mergeMethodsPlugin];
