// @m2rl/io-node: Node.js adapters for core's IO interfaces.
export * from "./atomic-dir.ts";
export * from "./checkpoint.ts";
export * from "./file-sink.ts";
export * from "./file-source.ts";
export * from "./file-store.ts";
