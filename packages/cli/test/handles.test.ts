/**
 * Every file handle is closed in a `finally`, never by the garbage collector: `m2rl analyze` (which streams every
 * checkpoint) runs in a child process that then forces GC, and its stderr must hold no "Closing file descriptor …
 * on garbage collection" warning and no DEP0137 (a future Node throws there).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("m2rl analyze leaves no file handle for the garbage collector", () => {
  const script = fileURLToPath(new URL("./fixtures/gc/analyze-then-gc.ts", import.meta.url));
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--trace-warnings", "--conditions=m2rl-source", "--import", "tsx", script],
    { encoding: "utf8", env: { ...process.env, M2RL_NATIVE: "0" } },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/Closing file descriptor|DEP0137/);
}, 120_000);
