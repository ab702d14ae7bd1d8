/**
 * How a merge worker thread finds a method that a plugin registered: it imports the plugin modules the main thread
 * loaded (by the URLs or package names it resolved them to), applies the plugins they export to a host that has
 * the built-in methods, and looks the method up by name. Functions cannot cross threads; module specifiers can.
 */
import { M2rlError } from "@m2rl/core/errors";
import { isMergeMethod, type MergeMethod } from "@m2rl/core/merge";
import { METHODS } from "../methods/index.ts";

/**
 * The merge method `name` inside a worker: a built-in when `modules` is empty, else the one registered by the
 * plugins of `modules` (imported in order, applied after the built-ins). Throws naming the modules and what they
 * registered when the method is not there.
 */
export async function workerMethod(name: string, modules: readonly string[]): Promise<MergeMethod> {
  if (modules.length === 0) {
    const builtin = METHODS.get(name);
    if (builtin) return builtin;
    throw new M2rlError(
      `merge worker: '${name}' is not a built-in merge method and no plugin module was given to the workers ` +
        "(RunOptions.plugins)",
    );
  }
  // the plugin host (tapable, ajv) is imported only here: workers of built-in methods start as before
  const [{ PluginHost, pluginsFromModule }, { mergeMethodsPlugin }] = await Promise.all([
    import("@m2rl/core/plugin"),
    import("../plugin.ts"),
  ]);
  const host = new PluginHost([mergeMethodsPlugin]);
  for (const specifier of modules) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier)) as Record<string, unknown>;
    } catch (err) {
      throw new M2rlError(
        `merge worker: plugin module ${specifier} failed to load: ${(err as Error)?.message ?? String(err)}`,
      );
    }
    host.use(...(await pluginsFromModule(mod, specifier)));
  }
  const registry = host.registry.mergeMethods;
  const found = registry.find(name);
  if (found && isMergeMethod(found)) return found;
  const own = registry.names().filter((n) => !METHODS.has(n));
  throw new M2rlError(
    `merge worker: merge method '${name}' is ${found ? "registered without a mergeTensor function" : "not registered"} ` +
      `after loading the plugin module(s) ${modules.join(", ")} (they register: ${own.join(", ") || "no merge method"})`,
  );
}
