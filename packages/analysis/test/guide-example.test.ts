/**
 * The example of the guide "Writing an analysis" (the "Writing an analysis" section of packages/analysis/README.md
 * shows this code: keep the two in sync; the last test checks that the README holds it verbatim). An
 * `unparsable-rate` analysis, registered through a plugin exactly as a third-party package would register it,
 * reports per arm × domain the share of eval samples whose status is `unparsable` and flags the cells above an
 * option `threshold`. The tests run it through `runAnalyses` (option validation, defaults, skipping) on hand-made
 * eval rows and check its table values, computed by hand.
 */

// --- guide code (begin) ------------------------------------------------------------------------------------------
import { type Analysis, registryPlugin } from "@m2rl/core";

export interface UnparsableRateOptions {
  /** Flag cells whose unparsable share is above this. */
  threshold: number;
}

export const unparsableRate: Analysis<UnparsableRateOptions> = {
  name: "unparsable-rate",
  description: "Share of eval samples the verifier could not parse, per arm × domain.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: { threshold: { type: "number", minimum: 0, maximum: 1, default: 0.1 } },
  },
  // runAnalyses skips the analysis with this sentence when the context lacks its input
  applicable: (ctx) => (ctx.evalRows?.length ? true : "needs eval rows"),
  async run(ctx, options) {
    // options were validated against optionsSchema, defaults filled in
    const cells = new Map<string, { arm: string; domain: string; samples: number; unparsable: number }>();
    for (const r of ctx.evalRows ?? []) {
      const key = JSON.stringify([r.arm, r.domain]);
      const cell = cells.get(key) ?? { arm: r.arm, domain: r.domain, samples: 0, unparsable: 0 };
      cell.samples++;
      if (r.status === "unparsable") cell.unparsable++;
      cells.set(key, cell);
    }
    const rows = [...cells.values()].map((c) => {
      const share = c.unparsable / c.samples;
      return [c.arm, c.domain, c.samples, share, share > options.threshold];
    });
    const flagged = rows.filter((r) => r[4]).map((r) => `${r[0]} on ${r[1]}`);
    return {
      analysis: "unparsable-rate",
      summary: { cells: rows.length, flagged: flagged.length },
      tables: [
        {
          title: "Unparsable answers",
          columns: ["arm", "domain", "samples", "unparsable share", "above threshold"],
          rows,
          caption: `unparsable share = samples with status unparsable / samples; threshold ${options.threshold}`,
        },
      ],
      charts: [],
      notes: flagged.length ? [`unparsable share above ${options.threshold}: ${flagged.join(", ")}`] : [],
      data: [...cells.values()],
    };
  },
};

export const plugin = registryPlugin("m2rl-analysis-unparsable", { analyses: [unparsableRate] });

// --- guide code (end) --------------------------------------------------------------------------------------------

import { readFileSync } from "node:fs";
import { type AnalysisContext, ConfigError, type EvalRow, PluginHost } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { analysisPlugin, renderReport, runAnalyses } from "../src/index.ts";
import { evalRow } from "./fixtures.ts";

/** Hand-made eval rows: mix/math 2 of 4 unparsable, mix/code 1 of 4, sft/math 0 of 2. */
const unparsable = { status: "unparsable" as const };
const rows: EvalRow[] = [
  evalRow("mix", "math", "t0", 1),
  evalRow("mix", "math", "t1", 0, unparsable),
  evalRow("mix", "math", "t2", 0, unparsable),
  evalRow("mix", "math", "t3", 0),
  evalRow("mix", "code", "t0", 0, unparsable),
  evalRow("mix", "code", "t1", 1),
  evalRow("mix", "code", "t2", 1),
  evalRow("mix", "code", "t3", 0),
  evalRow("sft", "math", "t0", 1),
  evalRow("sft", "math", "t1", 0),
];
const ctx: AnalysisContext = { arms: [], evalRows: rows, seed: 0 };

/** What the CLI does: every analysis registered on the host, built-in or from a plugin. */
function registered(): Analysis[] {
  const host = new PluginHost([analysisPlugin, plugin]);
  return host.registry.analyses.entries() as unknown as Analysis[];
}

describe("guide example: the unparsable-rate analysis", () => {
  it("registers through its plugin beside the built-ins", () => {
    const host = new PluginHost([analysisPlugin, plugin]);
    expect(host.registry.analyses.owner("unparsable-rate")).toBe("m2rl-analysis-unparsable");
    expect(host.registry.analyses.owner("scores")).toBe("m2rl-analysis");
  });

  it("tabulates the unparsable share per arm × domain and flags cells above the threshold", async () => {
    const run = await runAnalyses(ctx, registered(), [
      { name: "unparsable-rate", options: { threshold: 0.25 } },
    ]);
    expect(run.failed).toEqual([]);
    const [result] = run.results;
    expect(result.tables[0].rows).toEqual([
      ["mix", "math", 4, 0.5, true], // 2/4 > 0.25
      ["mix", "code", 4, 0.25, false], // 1/4 is not above 0.25
      ["sft", "math", 2, 0, false],
    ]);
    expect(result.summary).toMatchObject({ cells: 3, flagged: 1 });
    expect(result.notes).toEqual(["unparsable share above 0.25: mix on math"]);
  });

  it("the schema's default threshold (0.1) is filled in when no options are given", async () => {
    const run = await runAnalyses(ctx, registered(), [{ name: "unparsable-rate" }]);
    expect(run.results[0].tables[0].rows.map((r) => r[4])).toEqual([true, true, false]);
    expect(run.results[0].tables[0].caption).toMatch(/threshold 0\.1$/);
  });

  it("bad options are refused before anything runs; missing eval rows skip it with the reason", async () => {
    await expect(
      runAnalyses(ctx, registered(), [{ name: "unparsable-rate", options: { threshold: 2 } }]),
    ).rejects.toThrow(ConfigError);
    await expect(
      runAnalyses(ctx, registered(), [{ name: "unparsable-rate", options: { treshold: 0.2 } }]),
    ).rejects.toThrow(/treshold/);
    const run = await runAnalyses({ arms: [], seed: 0 }, registered(), [{ name: "unparsable-rate" }]);
    expect(run.skipped).toEqual([{ analysis: "unparsable-rate", reason: "needs eval rows" }]);
  });

  it("its table lands in the report", async () => {
    const run = await runAnalyses(ctx, registered(), [
      { name: "unparsable-rate", options: { threshold: 0.25 } },
    ]);
    const report = await renderReport(run, { title: "guide" });
    expect(report.markdown).toContain("| mix | math | 4 | 0.5 | true |");
    expect(JSON.parse(report.json).results[0].analysis).toBe("unparsable-rate");
  });
});

describe("guide example: the guide shows this code", () => {
  it("packages/analysis/README.md holds the code between the guide markers of this file, verbatim", () => {
    const self = readFileSync(new URL(import.meta.url), "utf8");
    const begin = self.indexOf("\n", self.indexOf("// --- guide code (begin)")) + 1;
    const code = self.slice(begin, self.indexOf("// --- guide code (end)")).trim();
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(`\`\`\`ts\n${code}\n\`\`\``);
  });
});
