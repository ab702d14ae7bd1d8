import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PluginError } from "@m2rl/core/errors";
import { isPlugin, type Plugin, pluginsFromModule } from "@m2rl/core/plugin";
import { resolve as resolveModule } from "import-meta-resolve";

/** A plugin specifier is a path when it starts with `.` or `/` (or is absolute); otherwise a module name. */
export function isPathSpecifier(specifier: string): boolean {
  return (
    specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || isAbsolute(specifier)
  );
}

/**
 * Where a plugin specifier points: a path is taken relative to `baseDir` (the experiment file's folder); a module
 * name is resolved with Node's ESM rules (package `exports`, `import` condition) from `baseDir`, so that the
 * experiment's own node_modules wins.
 */
export function resolvePluginSpecifier(specifier: string, baseDir: string): string {
  if (isPathSpecifier(specifier)) {
    const file = resolve(baseDir, specifier);
    if (!existsSync(file)) throw new PluginError(`plugin file not found: ${file}`, { plugin: specifier });
    return pathToFileURL(file).href;
  }
  try {
    return resolveModule(specifier, pathToFileURL(join(baseDir, "experiment.yaml")).href);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "ERR_MODULE_NOT_FOUND" ? "" : `: ${(err as Error).message.split("\n")[0]}`;
    throw new PluginError(
      `cannot find plugin module '${specifier}' from ${baseDir} (install it next to the experiment, or give a path ` +
        `starting with ./)${why}`,
      { plugin: specifier },
      { cause: err },
    );
  }
}

export { isPlugin, pluginsFromModule };

/** Resolves, imports and unwraps one plugin specifier. Throws PluginError naming the specifier. */
export async function loadPlugin(specifier: string, baseDir: string): Promise<Plugin[]> {
  const url = resolvePluginSpecifier(specifier, baseDir);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginError(
      `plugin module failed to load: ${(err as Error)?.message ?? String(err)}`,
      {
        plugin: specifier,
      },
      { cause: err },
    );
  }
  return pluginsFromModule(mod, specifier);
}
