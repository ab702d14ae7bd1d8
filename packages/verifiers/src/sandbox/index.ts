export * from "./bwrap.ts";
export * from "./languages.ts";
export * from "./limits.ts";
export * from "./sandbox.ts";
