export * from "./rng.ts";
