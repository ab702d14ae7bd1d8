export * from "./load.ts";
export * from "./schema.ts";
export * from "./types.ts";
export * from "./yaml.ts";
