/**
 * `seeds` / `m2rl run --seeds`: parsing, the per-seed folders and caches of `runSeeds`, single-seed hashes that
 * do not move, and a 2-seed run of a shrunk smoke experiment that ends in one report over both seeds.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ExperimentConfig, withSeeds } from "@m2rl/core";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { parseSeeds, presetFile } from "../src/commands/run.ts";
import { main } from "../src/main.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { hashOf } from "../src/run/hash.ts";
import { planExperiment } from "../src/run/plan.ts";
import { type ArmExecutors, armHash, runPlan, runSeeds } from "../src/run/runner.ts";
import { RunStore } from "../src/run/store.ts";
import { captureOutput } from "./capture-output.ts";

const { out, err } = captureOutput();
const dir = mkdtempSync(join(tmpdir(), "m2rl-seeds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Hash of every arm of the experiment's plan, by arm id. */
function armHashes(config: ExperimentConfig): Record<string, string> {
  const h: Record<string, string> = {};
  for (const n of planExperiment(config).nodes)
    h[n.id] = armHash(
      n,
      config,
      n.deps.map((d) => h[d]),
    );
  return h;
}

/** Executors that do no work: they record which (seed, arm) they produced. */
function counting(produced: string[]): (c: ExperimentConfig) => ArmExecutors {
  return (c) => ({
    async produce(job) {
      produced.push(`${c.seed}/${job.node.id}`);
      return { tokensGenerated: 1, tokensTrained: 1, flops: 1 };
    },
    async evaluate() {
      return { math: c.seed / 10 };
    },
  });
}

describe("--seeds parsing", () => {
  it("takes distinct integers >= 0, comma-separated, spaces allowed", () => {
    expect(parseSeeds("0,1,2")).toEqual([0, 1, 2]);
    expect(parseSeeds(" 7 , 3")).toEqual([7, 3]);
    expect(parseSeeds("4294967295")).toEqual([4294967295]);
  });

  it("names what is wrong: not an integer, negative, too large, empty, duplicate", () => {
    expect(parseSeeds("0,1.5")).toMatch(/'1\.5' is not a seed/);
    expect(parseSeeds("-1")).toMatch(/'-1' is not a seed/);
    expect(parseSeeds("4294967296")).toMatch(/'4294967296' is not a seed/);
    expect(parseSeeds("0,,1")).toMatch(/'' is not a seed/);
    expect(parseSeeds("a")).toMatch(/'a' is not a seed/);
    expect(parseSeeds("1,2,1")).toBe("--seeds: seed 1 is given twice; the seeds must be distinct");
  });

  it("m2rl run exits 2 with the message on a bad --seeds, before loading anything", async () => {
    for (const [arg, message] of [
      ["0,x", "--seeds: 'x' is not a seed"],
      ["2,2", "--seeds: seed 2 is given twice"],
    ]) {
      err.length = 0;
      expect(await main(["node", "m2rl", "run", "--preset", "smoke", "--seeds", arg, "--dry-run"])).toBe(2);
      expect(err.join("")).toContain(message);
    }
  });
});

describe("runSeeds", () => {
  const config = (seed: number): ExperimentConfig => ({
    name: "t",
    seed,
    output: "runs/t",
    plugins: [],
    policy: { source: "builtin", builtin: "tiny", model: {} },
    domains: {},
    arms: [
      { id: "single:math", kind: "single", domain: "math", trainer: {}, source: [] },
      { id: "single:code", kind: "single", domain: "code", trainer: {}, source: [] },
      {
        id: "merge:ties",
        kind: "merge",
        domains: ["math", "code"],
        method: "ties",
        parameters: {},
        source: [],
      },
    ],
    trainer: {},
    evaluation: { samples: 1, passAtK: [1], temperature: 0, topP: 1 },
    analysis: [],
  });

  it("one seed: the output folder itself, the config object as given, the hashes of runPlan", async () => {
    const a = join(dir, "one-a");
    const b = join(dir, "one-b");
    const c = config(3);
    const runs = await runSeeds(planExperiment(c), c, a, counting([]));
    expect(runs.map((r) => [r.seed, r.store.dir, r.produced])).toEqual([[3, a, 4]]);
    expect(runs[0].config).toBe(c);
    const direct = await runPlan(planExperiment(c), c, new RunStore(b), counting([])(c));
    expect(runs[0].records.map((r) => r.hash)).toEqual(direct.map((r) => r.hash));
    expect(readdirSync(a)).toEqual(["arms"]);
  });

  it("several seeds: one folder per seed with that seed's config, each cached and resumable on its own", async () => {
    const outDir = join(dir, "multi");
    const c = withSeeds(config(0), [5, 2]);
    const plan = planExperiment(c);
    const produced: string[] = [];
    const started: string[] = [];
    const runs = await runSeeds(plan, c, outDir, counting(produced), {
      seedStarted: (run, i, n) => {
        started.push(`${run.seed} ${i}/${n} ${run.store.dir}`);
      },
    });
    expect(started).toEqual([`5 1/2 ${join(outDir, "seed-5")}`, `2 2/2 ${join(outDir, "seed-2")}`]);
    expect(produced).toEqual(
      plan.nodes.flatMap((n) => [`5/${n.id}`]).concat(plan.nodes.map((n) => `2/${n.id}`)),
    );
    expect(runs.map((r) => [r.seed, r.config.seed, "seeds" in r.config])).toEqual([
      [5, 5, false],
      [2, 2, false],
    ]);
    expect(readdirSync(outDir).sort()).toEqual(["seed-2", "seed-5"]);
    expect(readdirSync(join(outDir, "seed-2", "arms")).sort()).toEqual([
      "base",
      "merge-ties",
      "single-code",
      "single-math",
    ]);
    // A seed's arms hash as a single run with that seed: the same inputs, the same cache key.
    expect(runs[1].records.map((r) => r.hash)).toEqual(Object.values(armHashes(config(2))));
    expect(runs[0].records[0].hash).not.toBe(runs[1].records[0].hash);

    const again: string[] = [];
    const cached = await runSeeds(plan, c, outDir, counting(again));
    expect(again).toEqual([]);
    expect(cached.map((r) => r.produced)).toEqual([0, 0]);

    // Seed 2 lost an arm (a crash): only that arm is redone, only for seed 2 (its hash, so its dependents', is as before).
    rmSync(join(outDir, "seed-2", "arms", "single-code", "arm.json"));
    const resumed: string[] = [];
    await runSeeds(plan, c, outDir, counting(resumed));
    expect(resumed).toEqual(["2/single:code"]);

    const forced: string[] = [];
    await runSeeds(plan, c, outDir, counting(forced), { force: ["merge:ties"] });
    expect(forced).toEqual(["5/merge:ties", "2/merge:ties"]);
  });
});

describe("single-seed hashes", () => {
  // A single-seed run keeps its cached arms: `seeds: [s]` and `--seeds s` give the very config (and arm hashes) of
  // `seed: s`. (When `seeds` landed, the presets' arm hashes were checked equal to those before it.)
  for (const preset of ["smoke", "default"])
    it(`${preset}: the same arm hashes with seeds: [s] or --seeds s`, async () => {
      const loaded = await loadExperimentFile(presetFile(preset), {}, `preset:${preset}`);
      const config = loaded.config!;
      expect(config.seeds).toBeUndefined();
      const viaFlag = withSeeds(config, [config.seed]);
      expect(viaFlag).toEqual(config);
      expect(hashOf(viaFlag)).toBe(hashOf(config));

      const text = readFileSync(presetFile(preset), "utf8").replace(/^seed: (\d+)$/m, "seeds: [$1]");
      const file = join(dir, `${preset}-seeds.yaml`);
      writeFileSync(file, text.replace(/^\$schema: .*$/m, ""));
      const viaList = (await loadExperimentFile(file, {}, `preset:${preset}`)).config!;
      expect(viaList).toEqual(config);
      expect(armHashes(viaList)).toEqual(armHashes(config));
      expect(armHashes(viaFlag)).toEqual(armHashes(config));
    });
});

describe("m2rl run with two seeds", () => {
  /** The smoke preset shrunk: two cheap domains, tiny model, one step per arm, a capture analysis. */
  function writeExperiment(): string {
    // biome-ignore lint/suspicious/noExplicitAny: a YAML document read for a few keys
    const smoke = parse(readFileSync(presetFile("smoke"), "utf8")) as Record<string, any>;
    const exp = {
      name: "seeds-e2e",
      seeds: [0, 1],
      plugins: ["./capture.js"],
      policy: {
        builtin: smoke.policy.builtin,
        model: { hiddenSize: 16, layers: 1, heads: 2, kvHeads: 1, intermediateSize: 32, maxPositions: 64 },
        sft: { ...smoke.policy.sft, steps: 2, batchSize: 4 },
      },
      domains: {
        math: { ...smoke.domains.math, train: { count: 8 }, eval: { count: 3 } },
        science: { ...smoke.domains.science, train: { count: 8 }, eval: { count: 3 } },
      },
      arms: {
        single: { trainer: { steps: 1 } },
        mix: { trainer: { steps: 1 } },
        "merge:linear": smoke.arms["merge:linear"],
      },
      trainer: {
        ...smoke.trainer,
        promptsPerStep: 2,
        groupSize: 2,
        sampling: { ...smoke.trainer.sampling, maxNewTokens: 6 },
      },
      evaluation: { ...smoke.evaluation, samples: 2, passAtK: [1, 2] },
      analysis: ["capture", "weight-geometry"],
    };
    writeFileSync(join(dir, "capture.js"), CAPTURE);
    const file = join(dir, "seeds-e2e.yaml");
    writeFileSync(file, stringify(exp));
    return file;
  }

  /** An analysis that reports what the run handed it: eval rows per seed, arm names, cost and metrics arms. */
  const CAPTURE = `export default {
  name: "capture",
  apply(host) {
    host.registry.analyses.register("capture", {
      name: "capture",
      description: "what the analyses receive",
      async run(ctx) {
        const rowsBySeed = {};
        for (const r of ctx.evalRows ?? []) rowsBySeed[r.seed] = (rowsBySeed[r.seed] ?? 0) + 1;
        return {
          analysis: "capture",
          summary: {
            rowsBySeed,
            rowArms: [...new Set((ctx.evalRows ?? []).map((r) => r.arm))].sort(),
            costArms: (ctx.costs ?? []).map((c) => c.arm),
            metricArms: Object.keys(ctx.metrics ?? {}).sort(),
            seed: ctx.seed,
          },
          tables: [],
          charts: [],
        };
      },
    });
  },
};
`;

  it("runs the arm graph per seed in seed-<s>/ and writes one report over both seeds", async () => {
    const file = writeExperiment();
    const outDir = join(dir, "runs", "seeds-e2e");
    expect(await main(["node", "m2rl", "run", file])).toBe(0);
    const log = err.join("");
    expect(log).toContain("▶ seed 0 (1/2)");
    expect(log).toContain("▶ seed 1 (2/2)");
    expect(log).toContain("▶ analyses and report over seeds 0, 1");

    expect(
      readdirSync(outDir)
        .filter((f) => !f.startsWith("chart"))
        .sort(),
    ).toEqual(["config.yaml", "report.html", "report.json", "report.md", "run.json", "seed-0", "seed-1"]);
    const arms = ["base", "sft", "single:math", "single:science", "mix", "merge:linear"];
    let rows = 0;
    for (const seed of [0, 1]) {
      const seedDir = join(outDir, `seed-${seed}`);
      expect(JSON.parse(readFileSync(join(seedDir, "run.json"), "utf8"))).toMatchObject({ seed });
      expect(existsSync(join(seedDir, "report.md"))).toBe(true);
      for (const arm of arms) {
        const ev = JSON.parse(
          readFileSync(join(seedDir, "arms", arm.replace(":", "-"), "eval.json"), "utf8"),
        );
        expect(new Set(ev.rows.map((r: { seed: number }) => r.seed))).toEqual(new Set([seed]));
        rows += ev.rows.length;
      }
    }
    expect(JSON.parse(readFileSync(join(outDir, "run.json"), "utf8"))).toMatchObject({
      seed: 0,
      seeds: [0, 1],
    });

    const report = JSON.parse(readFileSync(join(outDir, "report.json"), "utf8")) as {
      results: { analysis: string; summary: Record<string, unknown>; notes?: string[] }[];
    };
    const capture = report.results.find((r) => r.analysis === "capture")!.summary;
    const bySeed = capture.rowsBySeed as Record<string, number>;
    expect(Object.keys(bySeed)).toEqual(["0", "1"]);
    expect(bySeed["0"] + bySeed["1"]).toBe(rows);
    expect(capture.rowArms).toEqual([...arms].sort());
    expect(capture.costArms).toEqual(arms); // once per arm: the first seed's costs
    expect(capture.metricArms).toEqual(["mix", "sft", "single:math", "single:science"].sort());
    expect(capture.seed).toBe(0);
    const geometry = report.results.find((r) => r.analysis === "weight-geometry")!;
    expect(geometry.notes).toContain(
      "checkpoints: seed 0's run only (the first of seeds 0, 1); eval rows: every seed",
    );
    const md = readFileSync(join(outDir, "report.md"), "utf8");
    expect(md).toContain("- **seeds:** 0, 1");
    expect(md).toContain("- **checkpoints, metrics, costs:** seed 0's run only (seed-0/)");

    out.length = 0;
    err.length = 0;
    expect(await main(["node", "m2rl", "run", file])).toBe(0);
    expect(err.join("")).toContain("nothing to do: every arm is cached");
  });
});
