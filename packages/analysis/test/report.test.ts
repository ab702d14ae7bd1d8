import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PluginHost } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { analysisPlugin, BUILTIN_ANALYSES } from "../src/builtins.ts";
import { leadingNumber, renderReport, signOf } from "../src/report/render.ts";
import { writeReport } from "../src/report/write.ts";
import { runAnalyses } from "../src/run.ts";
import { syntheticContext } from "./fixtures.ts";

const CHROMIUM = process.env.M2RL_CHROMIUM ?? "/usr/bin/chromium";

async function buildReport() {
  const ctx = syntheticContext();
  const run = await runAnalyses(ctx, BUILTIN_ANALYSES, [
    { name: "scores" },
    { name: "weight-geometry", options: { projection: { dims: 64 }, subspace: { rank: 4 } } },
    { name: "skill-overlap" },
    { name: "information" },
    { name: "prediction", options: { promptsPerDomain: 2, maxNewTokens: 10 } },
    { name: "training" },
  ]);
  const report = await renderReport(run, {
    title: "M2RL report — synthetic tiny run",
    facts: [
      ["base", "sft"],
      ["arms", ctx.arms.map((a) => a.name).join(", ")],
      ["seed", String(ctx.seed)],
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "m2rl-report-"));
  await writeReport(dir, report);
  return { run, report, dir };
}

describe("report", () => {
  it("registers every built-in analysis on the plugin host", () => {
    const host = new PluginHost([analysisPlugin]);
    for (const a of BUILTIN_ANALYSES) expect(host.registry.analyses.get(a.name).name).toBe(a.name);
  });

  it("rejects unknown analyses and bad options before running anything", async () => {
    const ctx = syntheticContext();
    await expect(runAnalyses(ctx, BUILTIN_ANALYSES, [{ name: "nope" }])).rejects.toThrow(
      /unknown analysis 'nope'/,
    );
    await expect(
      runAnalyses(ctx, BUILTIN_ANALYSES, [
        { name: "weight-geometry", options: { projection: { dims: -1 } } },
      ]),
    ).rejects.toThrow(/analyses\.weight-geometry\.projection/);
  });

  it("builds report.md / report.html / report.json with every analysis and SVG charts, then renders in headless Chromium", async () => {
    const { run, report, dir } = await buildReport();
    expect(run.failed).toEqual([]);
    expect(run.skipped).toEqual([]);
    expect(run.results.map((r) => r.analysis).sort()).toEqual(BUILTIN_ANALYSES.map((a) => a.name).sort());
    expect(report.charts.length).toBeGreaterThanOrEqual(15);
    for (const c of report.charts) expect(c.svg).toMatch(/^<svg[^>]*class="marks"/);
    const html = await readFile(join(dir, "report.html"), "utf8");
    expect(html.match(/<svg /g)?.length).toBe(report.charts.length);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // self-contained: no scripts, no fetches
    const md = await readFile(join(dir, "report.md"), "utf8");
    expect(md).toMatch(
      /\| domain \| sft \| single:code \| single:math \| single:science \| merge:task_arithmetic \| merge:ties \| mix \|/,
    );
    expect(md).toMatch(/## Findings/);
    const json = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
    expect(json.results).toHaveLength(6);
    for (const id of ["1", "2", "3", "4", "5"]) expect(md).toMatch(new RegExp(`^${id}\\. `, "m"));

    if (!existsSync(CHROMIUM)) {
      console.warn(
        `SKIPPED the browser check: no Chromium at ${CHROMIUM} (apt-get install chromium, or set M2RL_CHROMIUM)`,
      );
      return;
    }
    const { chromium } = await import("playwright-core");
    const profile = await mkdtemp(join(tmpdir(), "m2rl-chromium-"));
    // a fresh profile per run (playwright passes it as --user-data-dir)
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith("file:")) requests.push(r.url());
      });
      await page.goto(`file://${join(dir, "report.html")}`);
      const charts = await page.$$eval("figure.chart svg.marks", (svgs) =>
        svgs.map((s) => {
          const b = s.getBoundingClientRect();
          return { w: b.width, h: b.height, marks: s.querySelectorAll("path, rect, line, text").length };
        }),
      );
      expect(charts).toHaveLength(report.charts.length);
      for (const c of charts) {
        expect(c.w).toBeGreaterThan(50);
        expect(c.h).toBeGreaterThan(50);
        expect(c.marks).toBeGreaterThan(5);
      }
      expect(requests).toEqual([]);
      const png = await page.screenshot({ fullPage: true });
      expect(png.length).toBeGreaterThan(50_000);
      await writeFile(join(dir, "report.png"), png);
      const top = await page.screenshot({ fullPage: false });
      await writeFile(join(dir, "report-top.png"), top);
      console.log(`report screenshot: ${join(dir, "report.png")}`);
    } finally {
      await browser.close();
    }
  });
});

describe("report cells with confidence intervals", () => {
  it("reads the leading number and colours a Δ by its CI, not its sign alone", () => {
    expect(leadingNumber("45.3 [40.1, 50.2]")).toBe(45.3);
    expect(leadingNumber("−2.5 [−4.0, −1.0]")).toBe(-2.5);
    expect(leadingNumber("n/a")).toBeNaN();
    expect(signOf("+3.2 [+1.0, +5.4]")).toBe(1);
    expect(signOf("+3.2 [−1.0, +5.4]")).toBe(0); // CI contains 0: not coloured
    expect(signOf("−3.2 [−5.0, −0.4]")).toBe(-1);
    expect(signOf("+0.0 [+0.0, +0.0]")).toBe(0);
    expect(signOf("+0.7")).toBe(1);
    expect(signOf("45.3 [40.1, 50.2]")).toBe(0); // a score, not a Δ
  });
});
