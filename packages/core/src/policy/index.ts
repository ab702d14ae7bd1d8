export * from "./causal-lm.ts";
export * from "./char-tokenizer.ts";
export * from "./config.ts";
export * from "./folder.ts";
export * from "./hf-tokenizer.ts";
export { KVCache } from "./kv-cache.ts";
export { gatherRows } from "./ops.ts";
export { argmax, type Pick, pickToken } from "./sampling.ts";
export * from "./types.ts";
