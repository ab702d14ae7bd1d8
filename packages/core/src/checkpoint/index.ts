export * from "./checkpoint.ts";
export * from "./dtype.ts";
export * from "./finite.ts";
export * from "./header.ts";
export * from "./memory-store.ts";
export * from "./reader.ts";
export * from "./writer.ts";
