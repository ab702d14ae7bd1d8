export * from "./domain.ts";
export * from "./extract.ts";
export * from "./generator.ts";
export * from "./verify.ts";
