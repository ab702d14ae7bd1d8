/**
 * m2rl-plugin-trainer-early-stop: an M2RL trainer plugin, outside the M2RL repository's core. List it in an
 * experiment's `plugins:` and give it options under `trainer.plugins.early-stop` (for every RL arm) or under an
 * arm's `trainer.plugins.early-stop`: each arm whose trainer config has the block stops on a reward plateau.
 */
import type { Plugin } from "@m2rl/core";
import { EARLY_STOP_SCHEMA, type EarlyStopOptions, earlyStop } from "./early-stop.ts";

export const plugin: Plugin = {
  name: "m2rl-plugin-trainer-early-stop",
  apply(host) {
    // Declares the options block: `m2rl validate` checks it (file:line:col) against this schema.
    host.registry.configSections.register(this.name, {
      name: "trainer.plugins.early-stop",
      description: "Stop an RL arm when its mean training reward stops improving.",
      optionsSchema: EARLY_STOP_SCHEMA,
    });
    // Every trainer the runner creates: arms whose config has the block get the plugin.
    host.hooks.trainer.tap(this.name, (trainer) => {
      const options = trainer.config.plugins["early-stop"];
      if (options) earlyStop(options as Partial<EarlyStopOptions>).apply(trainer);
    });
  },
};

export default plugin;
export * from "./early-stop.ts";
