/** `@m2rl/core/async`: small helpers for long work on one thread (bounded concurrency, yielding to the event loop). */
export * from "../trainer/yield.ts";
