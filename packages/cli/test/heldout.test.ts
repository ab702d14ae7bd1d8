/**
 * `m2rl run` with `trainer.evalEvery` and `trainer.kl.monitor`: every training arm writes its held-out curve
 * (arms/<arm>/heldout.jsonl, from step 0, on trainer.evalTasks eval tasks per trained domain), the report's training
 * analysis charts it, and the arm's metrics.jsonl carries the KL to the start policy. A shrunk smoke experiment run
 * in-process: tiny model, no SFT, two cheap domains, two steps per arm.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { main } from "../src/main.ts";
import { captureOutput } from "./capture-output.ts";

const { err } = captureOutput();
const dir = mkdtempSync(join(tmpdir(), "m2rl-heldout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Point {
  step: number;
  domain: string;
  avg: number;
  tasks: number;
}

const readLines = <T>(file: string): T[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

/**
 * A shrunk smoke experiment (written out here, not read from the smoke preset, whose tuning may change); `trainer`
 * adds to the shared trainer options.
 */
function writeExperiment(name: string, trainer: Record<string, unknown>): string {
  const exp = {
    name,
    seed: 0,
    policy: {
      builtin: "tiny",
      model: { hiddenSize: 16, layers: 1, heads: 2, kvHeads: 1, intermediateSize: 32, maxPositions: 64 },
    },
    domains: {
      math: { options: { synthetic: { maxOperand: 9 } }, train: { count: 8 }, eval: { count: 3 } },
      science: { train: { count: 8 }, eval: { count: 3 } },
    },
    arms: {
      single: { trainer: { steps: 2 } },
      mix: { trainer: { steps: 2 } },
    },
    trainer: {
      promptsPerStep: 2,
      groupSize: 2,
      sampling: { temperature: 1.0, topP: 1.0, maxNewTokens: 6 },
      optimizer: { lr: 0.0005, beta1: 0.9, beta2: 0.98, weightDecay: 0.0, maxGradNorm: 1.0 },
      ...trainer,
    },
    evaluation: { samples: 2, passAtK: [1, 2], temperature: 1.0, topP: 0.7 },
    analysis: ["training"],
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(exp));
  return file;
}

describe("m2rl run: held-out curves and the KL monitor", () => {
  it("evalEvery 1, evalTasks 2, kl.monitor: heldout.jsonl per training arm, its chart, finite KL", async () => {
    const file = writeExperiment("heldout", { evalEvery: 1, evalTasks: 2, kl: { monitor: true } });
    const outDir = join(dir, "runs", "heldout");
    expect(await main(["node", "m2rl", "run", file]), err.join("")).toBe(0);

    const trained: Record<string, string[]> = {
      "single-math": ["math"],
      "single-science": ["science"],
      mix: ["math", "science"],
    };
    for (const [arm, domains] of Object.entries(trained)) {
      const armDir = join(outDir, "arms", arm);
      const points = readLines<Point>(join(armDir, "heldout.jsonl"));
      // a point at step 0 (the start policy) and after every step, for each domain the arm trains on
      expect(
        points.map((p) => [p.step, p.domain]),
        arm,
      ).toEqual([0, 1, 2].flatMap((step) => domains.map((d) => [step, d])));
      for (const p of points) {
        expect(Object.keys(p).sort()).toEqual(["avg", "domain", "step", "tasks"]);
        expect(p.tasks).toBe(2); // trainer.evalTasks, not the domain's eval count (3)
        expect(p.avg).toBeGreaterThanOrEqual(0);
        expect(p.avg).toBeLessThanOrEqual(1);
      }

      const metrics = readLines<{ step: number; kl: unknown }>(join(armDir, "metrics.jsonl"));
      expect(metrics.map((m) => m.step)).toEqual([0, 1]);
      for (const m of metrics) {
        expect(typeof m.kl, `${arm} kl`).toBe("number");
        expect(Number.isFinite(m.kl as number)).toBe(true);
      }
    }

    const report = JSON.parse(readFileSync(join(outDir, "report.json"), "utf8")) as {
      results: { analysis: string; charts?: { title: string }[] }[];
    };
    const training = report.results.find((r) => r.analysis === "training");
    expect(training?.charts?.map((c) => c.title)).toContain("Held-out Avg@K during training");
  });

  it("without evalEvery and kl.monitor: no heldout.jsonl, no chart, kl stays null", async () => {
    const file = writeExperiment("plain", {});
    const outDir = join(dir, "runs", "plain");
    expect(await main(["node", "m2rl", "run", file]), err.join("")).toBe(0);
    expect(() => readFileSync(join(outDir, "arms", "single-math", "heldout.jsonl"))).toThrow(/ENOENT/);
    const metrics = readLines<{ kl: unknown }>(join(outDir, "arms", "single-math", "metrics.jsonl"));
    expect(metrics.map((m) => m.kl)).toEqual([null, null]);
    const report = JSON.parse(readFileSync(join(outDir, "report.json"), "utf8")) as {
      results: { analysis: string; charts?: { title: string }[] }[];
    };
    const training = report.results.find((r) => r.analysis === "training");
    expect(training?.charts?.map((c) => c.title) ?? []).not.toContain("Held-out Avg@K during training");
  });
});
