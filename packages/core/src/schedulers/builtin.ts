/**
 * The built-in mixing schedulers, as a plain map and as a plugin that registers them into a plugin host's
 * `registry.mixingSchedulers` (the same route a third-party scheduler takes).
 */
import { PluginError } from "../errors/index.ts";
import { adaptiveScheduler } from "./adaptive.ts";
import { sequentialScheduler } from "./sequential.ts";
import type { MixingScheduler, MixingSchedulerInfo, SchedulerContext } from "./types.ts";
import { proportionalScheduler, temperatureScheduler, uniformScheduler } from "./weighted.ts";

export const BUILTIN_SCHEDULERS: ReadonlyMap<string, MixingSchedulerInfo> = new Map(
  [proportionalScheduler, uniformScheduler, temperatureScheduler, sequentialScheduler, adaptiveScheduler].map(
    (s) => [s.name, s],
  ),
);

/** Structural view of the plugin host's registry (avoids a hard dependency on the host class). */
interface SchedulerRegistryLike {
  register(pluginName: string, entry: MixingSchedulerInfo): void;
}

/** Registers every built-in scheduler into `host.registry.mixingSchedulers`. */
export const builtinSchedulersPlugin = {
  name: "m2rl:schedulers",
  apply(host: { registry: { mixingSchedulers: SchedulerRegistryLike } }): void {
    for (const s of BUILTIN_SCHEDULERS.values())
      host.registry.mixingSchedulers.register("m2rl:schedulers", s);
  },
};

/** Looks a scheduler up (in `registry`, a Map or a host Registry; default the built-ins) and creates it. */
export function createScheduler(
  name: string,
  options: Record<string, unknown>,
  context: SchedulerContext,
  registry: { get(name: string): MixingSchedulerInfo | undefined } = BUILTIN_SCHEDULERS,
): MixingScheduler {
  let info: MixingSchedulerInfo | undefined;
  try {
    info = registry.get(name);
  } catch (err) {
    throw new PluginError((err as Error).message, { plugin: name }, { cause: err });
  }
  if (!info) {
    throw new PluginError(
      `unknown mixing scheduler '${name}'; known: ${[...BUILTIN_SCHEDULERS.keys()].join(", ")}`,
    );
  }
  return info.create(options, context);
}
