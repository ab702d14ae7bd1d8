import type { Plugin } from "@m2rl/core";
import { codePlugin } from "./code/index.ts";
import { ifevalPlugin } from "./ifeval/index.ts";
import { mathPlugin } from "./math/index.ts";
import { sciencePlugin } from "./science/index.ts";

// code, sandbox, server (helper E2)
export * from "./code/index.ts";
// math, science, ifeval, common, data (helper E1)
export * from "./common/index.ts";
export * from "./data/index.ts";
export * from "./ifeval/index.ts";
export * from "./math/index.ts";
export * from "./sandbox/index.ts";
export * from "./science/index.ts";
export * from "./server/index.ts";

/** The domain plugins this package ships; the CLI applies them all to its plugin host. */
export const builtinPlugins: Plugin[] = [mathPlugin, codePlugin, sciencePlugin, ifevalPlugin];
