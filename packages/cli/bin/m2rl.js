#!/usr/bin/env node
// Entry point of the `m2rl` command. The TypeScript sources are compiled to dist/ by `npm ci` (root `prepare`).
import { main } from "../dist/main.js";

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
