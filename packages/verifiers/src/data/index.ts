export * from "./check.ts";
export * from "./load.ts";
export * from "./rows.ts";
export * from "./verl.ts";
