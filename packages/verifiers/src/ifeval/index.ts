export * from "./domain.ts";
export * from "./evaluate.ts";
export * from "./generator.ts";
export * from "./instructions.ts";
export * from "./language.ts";
export * from "./text.ts";
