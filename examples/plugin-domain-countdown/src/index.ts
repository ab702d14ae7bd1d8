/**
 * m2rl-plugin-domain-countdown: an M2RL domain plugin, outside the M2RL repository's core, that adds the
 * `countdown` domain. List it in an experiment's `plugins:` and use `verifier: countdown` (or a domain named
 * `countdown`).
 */
import type { Plugin } from "@m2rl/core";
import { countdownDomain } from "./domain.ts";

export const plugin: Plugin = {
  name: "m2rl-plugin-domain-countdown",
  apply(host) {
    host.registry.domains.register(this.name, countdownDomain);
  },
};

export default plugin;
export * from "./domain.ts";
export * from "./expression.ts";
export * from "./generator.ts";
export * from "./rational.ts";
