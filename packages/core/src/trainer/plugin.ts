/**
 * Registers the trainer's option schemas as open sections of the experiment file (`trainer`, `policy.sft`), so
 * that the experiment loader validates them with ajv before anything runs. The CLI applies it with the other
 * built-in plugins.
 */
import { TRAINER_CONFIG_SCHEMA } from "./config.ts";
import { SFT_OPTIONS_SCHEMA } from "./sft-options.ts";

interface ConfigSectionRegistryLike {
  register(
    pluginName: string,
    entry: { name: string; description?: string; optionsSchema: Record<string, unknown> },
  ): void;
}

export const trainerConfigPlugin = {
  name: "m2rl:trainer",
  apply(host: { registry: { configSections: ConfigSectionRegistryLike } }): void {
    host.registry.configSections.register("m2rl:trainer", {
      name: "trainer",
      description: "GRPO-family trainer options (defaults: the paper's RL recipe).",
      optionsSchema: TRAINER_CONFIG_SCHEMA,
    });
    host.registry.configSections.register("m2rl:trainer", {
      name: "policy.sft",
      description: "Supervised warm-up of a built-in tiny policy on prompt → reference pairs.",
      optionsSchema: SFT_OPTIONS_SCHEMA,
    });
  },
};
