import type { Plugin } from "@m2rl/core";
import { codePlugin } from "./code/index.ts";

// code, sandbox, server (helper E2)
export * from "./code/index.ts";
export * from "./sandbox/index.ts";

/** The domain plugins this package ships; the CLI applies them all to its plugin host. */
export const builtinPlugins: Plugin[] = [codePlugin];
