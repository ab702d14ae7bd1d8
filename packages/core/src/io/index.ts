export * from "./io.ts";
