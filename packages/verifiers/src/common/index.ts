export * from "./domain.ts";
export * from "./status.ts";
export * from "./synthetic.ts";
export * from "./think.ts";
