/**
 * The plugin host `m2rl merge` looks merge methods up in: the built-in methods, then the plugins named by
 * `--plugin` (paths relative to the working folder, module names resolved from it, as an experiment's `plugins:`
 * list resolves them from the experiment's folder).
 */
// the plugin host without options validation: the package root also loads the policy engine (TensorFlow.js,
// tokenizers), ~0.3 s, and `@m2rl/core/plugin` ajv, ~0.04 s; a merge validates no plugin options (a --plugin
// module is loaded by ../plugins/load.ts, which imports `@m2rl/core/plugin`)
import { type Plugin, PluginHost } from "@m2rl/core/plugin/lite";
import { builtinPlugins } from "@m2rl/mergers";

export interface MergeHost {
  host: PluginHost;
  /**
   * What each `--plugin` resolved to (absolute file URLs), in order: the modules merge worker threads import to
   * register a plugin's method.
   */
  modules: string[];
}

/** Applies the built-in merge methods and the plugins of `specifiers`; throws a PluginError naming a bad one. */
export async function loadMergeHost(
  specifiers: readonly string[],
  cwd = process.cwd(),
  builtins: readonly Plugin[] = builtinPlugins,
): Promise<MergeHost> {
  const host = new PluginHost(builtins);
  const modules: string[] = [];
  if (specifiers.length === 0) return { host, modules };
  // the resolver (import-meta-resolve) is loaded only when there is a plugin to resolve
  const { loadPlugin, resolvePluginSpecifier } = await import("../plugins/load.ts");
  for (const specifier of specifiers) {
    const url = resolvePluginSpecifier(specifier, cwd);
    host.use(...(await loadPlugin(specifier, cwd)));
    if (!modules.includes(url)) modules.push(url);
  }
  return { host, modules };
}
