export * from "./define.ts";
export * from "./from-module.ts";
export * from "./host.ts";
export * from "./problem.ts";
export * from "./registry.ts";
export * from "./schema.ts";
export * from "./suggest.ts";
export * from "./validate.ts";
