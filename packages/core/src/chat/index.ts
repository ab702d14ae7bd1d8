export * from "./source.ts";
