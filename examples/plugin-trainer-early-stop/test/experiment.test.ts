/**
 * The plugin loaded the way users load it, from an experiment's `plugins:` list: `m2rl validate` checks its options
 * block at file:line:col, and `m2rl run` applies it to exactly the arms whose trainer config has the block.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@m2rl/cli";
import { afterAll, describe, expect, it, vi } from "vitest";

const here = (f: string) => new URL(`./${f}`, import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "m2rl-early-stop-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const keep = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
  const spies = [
    vi.spyOn(console, "log").mockImplementation(keep),
    vi.spyOn(console, "error").mockImplementation(keep),
    vi.spyOn(console, "info").mockImplementation(keep),
    vi.spyOn(process.stdout, "write").mockImplementation((c) => {
      keep(c);
      return true;
    }),
    vi.spyOn(process.stderr, "write").mockImplementation((c) => {
      keep(c);
      return true;
    }),
  ];
  try {
    const code = await main(["node", "m2rl", ...args]);
    return { code, text: lines.join("\n") };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

describe("early-stop from the experiment YAML", () => {
  it("validate refuses bad options and option blocks no plugin takes, at file:line:col", async () => {
    const r = await cli(["validate", here("bad-options.yaml")]);
    expect(r.code).toBe(2);
    const problems = r.text.split("\n").filter((l) => l.includes("bad-options.yaml:1"));
    expect(problems.map((l) => l.slice(l.indexOf("bad-options.yaml")))).toEqual([
      "bad-options.yaml:12:29  trainer.plugins.early-stop.patience  [m2rl-plugin-trainer-early-stop] must be >= 1",
      "bad-options.yaml:12:32  trainer.plugins.early-stop.minDelt  [m2rl-plugin-trainer-early-stop] unknown key 'minDelt' (did you mean 'minDelta'?)",
      "bad-options.yaml:13:5  trainer.plugins.early-stp  no loaded plugin takes trainer options under 'early-stp' (did you mean 'early-stop'?); trainer plugins loaded: early-stop (list the plugin under `plugins:`)",
    ]);
  });

  it("run stops single:math on its plateau and leaves single:science alone", async () => {
    const r = await cli(["run", here("experiment.yaml"), "--out", out]);
    expect(r.code, r.text).toBe(0);
    const steps = (arm: string) =>
      readFileSync(join(out, "arms", arm.replace(":", "-"), "metrics.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.trim()).length;
    expect(steps("single:math")).toBe(3);
    expect(steps("single:science")).toBe(8);
  });
});
