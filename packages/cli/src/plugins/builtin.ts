import { builtinSchedulersPlugin, policyConfigPlugin, trainerConfigPlugin } from "@m2rl/core/builtins";
import type { Plugin } from "@m2rl/core/plugin";
import { pluginsFromModule } from "./load.ts";

/**
 * The packages whose `builtinPlugins: Plugin[]` export the CLI applies before the experiment's own plugins. Each
 * is optional: a package that does not (yet) export `builtinPlugins` contributes nothing.
 */
export const BUILTIN_PACKAGES = ["@m2rl/verifiers", "@m2rl/mergers", "@m2rl/analysis"] as const;

/**
 * The module each built-in package declares its plugins in, when that is not the package root: an entry that
 * registers names and schemas and loads the implementations (verifiers, report rendering) only when used, so that
 * `m2rl validate` stays fast.
 */
export const BUILTIN_PLUGIN_ENTRIES: Readonly<Record<string, string>> = {
  "@m2rl/verifiers": "@m2rl/verifiers/plugins",
  "@m2rl/analysis": "@m2rl/analysis/plugins",
};

/** Core's own plugins: the built-in mixing schedulers and the trainer's `trainer` / `policy.sft` schemas. */
export const CORE_PLUGINS: readonly Plugin[] = [
  builtinSchedulersPlugin,
  trainerConfigPlugin,
  policyConfigPlugin,
];

export interface BuiltinLoad {
  plugins: Plugin[];
  /** Packages that failed to import (a broken install); the CLI prints these as warnings. */
  warnings: string[];
}

/** Imports the built-in plugin packages; a package that fails to import is a warning, not a crash. */
export async function loadBuiltinPlugins(
  packages: readonly string[] = BUILTIN_PACKAGES,
  importer: (name: string) => Promise<unknown> = (name) => import(BUILTIN_PLUGIN_ENTRIES[name] ?? name),
): Promise<BuiltinLoad> {
  const plugins = [...CORE_PLUGINS];
  const warnings: string[] = [];
  for (const name of packages) {
    let mod: Record<string, unknown>;
    try {
      mod = (await importer(name)) as Record<string, unknown>;
    } catch (err) {
      warnings.push(`built-in plugins of ${name} not loaded: ${(err as Error)?.message ?? String(err)}`);
      continue;
    }
    if (mod.builtinPlugins === undefined) continue;
    plugins.push(...(await pluginsFromModule({ builtinPlugins: mod.builtinPlugins }, name)));
  }
  return { plugins, warnings };
}
