/**
 * The plugins the CLI applies by default (every built-in analysis), light to import: this entry leaves out the
 * report renderer and the rest of the package's exports.
 */
import type { Plugin } from "@m2rl/core";
import { analysisPlugin } from "./builtins.ts";

export { analysisPlugin } from "./builtins.ts";

/** The plugins the CLI applies by default (every built-in analysis). */
export const builtinPlugins: Plugin[] = [analysisPlugin];
