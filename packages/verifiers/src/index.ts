// code, sandbox, server (helper E2)
export * from "./code/index.ts";
// math, science, ifeval, common, data (helper E1)
export * from "./common/index.ts";
export * from "./data/index.ts";
export * from "./ifeval/index.ts";
export * from "./math/index.ts";
/** The domain plugins this package ships (declared up front, each domain's code loaded when it is created). */
export { builtinPlugins } from "./plugins.ts";
export * from "./sandbox/index.ts";
export * from "./science/index.ts";
export * from "./server/index.ts";
