// @m2rl/core: the package's face. Each folder is one concept; this file only re-exports.
export * from "./analysis/index.ts";
export * from "./chat/index.ts";
export * from "./checkpoint/index.ts";
export * from "./config/index.ts";
export * from "./domain/index.ts";
export * from "./errors/index.ts";
export * from "./io/index.ts";
export * from "./merge/index.ts";
export * from "./plugin/index.ts";
export * from "./policy/index.ts";
export * from "./rng/index.ts";
export * from "./schedulers/index.ts";
export * from "./tensor/index.ts";
export * from "./trainer/index.ts";
