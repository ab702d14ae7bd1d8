export * from "./builtin.ts";
export * from "./experiment.ts";
export * from "./load.ts";
