/**
 * How a merge worker thread finds a method that a plugin registered: it imports the plugin modules the main thread
 * loaded (by the URLs or package names it resolved them to), applies the plugins they export to a host that has
 * the built-in methods, and looks the method up by name. Functions cannot cross threads; module specifiers can.
 */
import { M2rlError } from "@m2rl/core/errors";
import { isMergeMethod, type MergeMethod } from "@m2rl/core/merge";
import type { Plugin } from "@m2rl/core/plugin";
import { METHODS } from "../methods/index.ts";

/**
 * The plugins a module exports, the shapes the m2rl CLI accepts: `default`, else `plugin`, else `builtinPlugins`;
 * each a plugin object, a class with `apply` (instantiated), a factory (called, may be async) or an array of them.
 */
export async function pluginsOfModule(mod: Record<string, unknown>, specifier: string): Promise<Plugin[]> {
  const key = ["default", "plugin", "builtinPlugins"].find((k) => mod[k] !== undefined);
  if (key === undefined) throw new M2rlError(`plugin module ${specifier} exports no plugin`);
  const out: Plugin[] = [];
  const add = async (v: unknown): Promise<void> => {
    if (Array.isArray(v)) {
      for (const x of v) await add(x);
    } else if (typeof v === "function") {
      const fn = v as (...a: unknown[]) => unknown;
      await add(
        typeof fn.prototype?.apply === "function" ? new (fn as unknown as new () => unknown)() : await fn(),
      );
    } else if (
      v !== null &&
      typeof v === "object" &&
      typeof (v as Plugin).name === "string" &&
      typeof (v as Plugin).apply === "function"
    ) {
      out.push(v as Plugin);
    } else {
      throw new M2rlError(`plugin module ${specifier}: export '${key}' is not a plugin`);
    }
  };
  await add(mod[key]);
  return out;
}

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
  const [{ PluginHost }, { mergeMethodsPlugin }] = await Promise.all([
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
    host.use(...(await pluginsOfModule(mod, specifier)));
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
