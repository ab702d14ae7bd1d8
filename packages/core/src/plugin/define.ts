import type { Analysis } from "../analysis/types.ts";
import type { DomainFactory } from "../domain/types.ts";
import type { MergeMethodInfo } from "../merge/types.ts";
import type { MixingSchedulerInfo } from "../schedulers/types.ts";
import type { ConfigSectionInfo, Plugin, PluginHost } from "./host.ts";

/** Identity helper that types a plugin object: `export default definePlugin({ name, apply(host) { ... } })`. */
export function definePlugin(plugin: Plugin): Plugin {
  return plugin;
}

/** What a registering plugin adds to each registry. */
export interface RegistryContributions {
  // biome-ignore lint/suspicious/noExplicitAny: factories of any options / ground-truth types
  domains?: DomainFactory<any, any>[];
  mixingSchedulers?: MixingSchedulerInfo[];
  mergeMethods?: MergeMethodInfo[];
  // biome-ignore lint/suspicious/noExplicitAny: analyses of any options type
  analyses?: Analysis<any>[];
  configSections?: ConfigSectionInfo[];
}

/**
 * A plugin that only registers entries, the common case (a domain package, a merge method):
 * `registryPlugin("m2rl-domain-sql", { domains: [sqlDomain] })`. It taps the same registry hooks that a
 * hand-written `apply` would.
 */
export function registryPlugin(name: string, contributions: RegistryContributions): Plugin {
  return {
    name,
    apply(host: PluginHost) {
      for (const d of contributions.domains ?? []) host.registry.domains.register(name, d as DomainFactory);
      for (const s of contributions.mixingSchedulers ?? []) host.registry.mixingSchedulers.register(name, s);
      for (const m of contributions.mergeMethods ?? []) host.registry.mergeMethods.register(name, m);
      for (const a of contributions.analyses ?? []) host.registry.analyses.register(name, a);
      for (const c of contributions.configSections ?? []) host.registry.configSections.register(name, c);
    },
  };
}
