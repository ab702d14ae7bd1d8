/** `@m2rl/core/flops`: the FLOPs and parameter counts of a run, without the tensor code of the package root. */
export * from "../trainer/flops.ts";
