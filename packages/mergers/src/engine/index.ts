export * from "./executor.ts";
export * from "./plan.ts";
export * from "./run.ts";
export * from "./tokenizer.ts";
