export * from "./compare.ts";
export * from "./domain.ts";
export * from "./extract.ts";
export * from "./generator.ts";
export * from "./groundTruth.ts";
export * from "./harness.ts";
export * from "./types.ts";
export * from "./verify.ts";
