/**
 * m2rl-plugin-merge-median: an M2RL merge-method plugin, outside the M2RL repository's core, that adds the
 * `median` merge method. Load it with `m2rl merge --plugin m2rl-plugin-merge-median` or list it in an experiment's
 * `plugins:` and use a `merge:median` arm.
 */
import { type Plugin, registryPlugin } from "@m2rl/core/plugin";
import { median } from "./median.ts";

export const plugin: Plugin = registryPlugin("m2rl-plugin-merge-median", { mergeMethods: [median] });

export default plugin;
export * from "./median.ts";
