export * from "./kernels.ts";
export * from "./types.ts";
