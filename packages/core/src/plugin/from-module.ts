/**
 * The plugins an imported module exports, in the shapes M2RL accepts (the CLI's `plugins:` and `--plugin`, the
 * merge workers): `default`, else a named `plugin`, else `builtinPlugins`; each value a plugin object
 * (`{ name, apply(host) }`), a class with an `apply` method (instantiated with no arguments), a factory (called, may
 * be async) or an array of them. Pure: the caller imports the module (core takes no paths).
 */
import { PluginError } from "../errors/errors.ts";
import type { Plugin } from "./host.ts";

export function isPlugin(v: unknown): v is Plugin {
  return (
    v !== null &&
    typeof v === "object" &&
    typeof (v as Plugin).name === "string" &&
    (v as Plugin).name.length > 0 &&
    typeof (v as Plugin).apply === "function"
  );
}

type PluginClass = new () => unknown;

/** A class whose instances have `apply` (a plugin class), as opposed to a factory function. */
function isPluginClass(fn: (...a: unknown[]) => unknown): fn is ((...a: unknown[]) => unknown) & PluginClass {
  return typeof fn.prototype?.apply === "function";
}

/** The plugin(s) `mod` exports; throws a PluginError naming `specifier` when it exports none or something else. */
export async function pluginsFromModule(mod: Record<string, unknown>, specifier: string): Promise<Plugin[]> {
  for (const key of ["default", "plugin", "builtinPlugins"]) {
    if (mod[key] === undefined) continue;
    return toPlugins(mod[key], specifier, key);
  }
  const found = Object.keys(mod);
  throw new PluginError(
    "module exports no plugin: expected a default export or a named export 'plugin' (an object with name and " +
      `apply(host), a class, or a factory) or 'builtinPlugins' (an array); found exports: ${found.length ? found.join(", ") : "none"}`,
    { plugin: specifier },
  );
}

async function toPlugins(value: unknown, specifier: string, key: string): Promise<Plugin[]> {
  if (Array.isArray(value)) {
    const out: Plugin[] = [];
    for (const v of value) out.push(...(await toPlugins(v, specifier, key)));
    return out;
  }
  if (typeof value === "function") {
    const fn = value as (...a: unknown[]) => unknown;
    return toPlugins(isPluginClass(fn) ? new fn() : await fn(), specifier, key);
  }
  if (isPlugin(value)) return [value];
  throw new PluginError(
    `export '${key}' is not a plugin: expected { name: string, apply(host) }, a class, a factory or an array of them`,
    { plugin: specifier },
  );
}
