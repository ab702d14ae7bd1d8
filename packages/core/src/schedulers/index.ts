export * from "./adaptive.ts";
export * from "./builtin.ts";
export * from "./sequential.ts";
export * from "./types.ts";
export * from "./weighted.ts";
