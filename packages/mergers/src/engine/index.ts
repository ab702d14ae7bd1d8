export * from "./executor.ts";
export * from "./finite.ts";
export * from "./output-config.ts";
export * from "./plan.ts";
export * from "./run.ts";
export * from "./tokenizer.ts";
