/**
 * `m2rl analyze`: runs the analyses over a base checkpoint and named arms (folders or .safetensors files), with
 * optional eval rows, metrics.jsonl per arm, costs and prompts, and writes report.md / report.html / report.json.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  type AnalysisSelection,
  BUILTIN_ANALYSES,
  parseArmName,
  readCosts,
  readEvalRows,
  readMetrics,
  readPrompts,
  renderReport,
  runAnalyses,
  writeReport,
} from "@m2rl/analysis";
import type { AnalysisContext, ArmInput, ArmKind, Checkpoint, MetricsRow } from "@m2rl/core";
import { ConfigError, initBackend, loadPolicy } from "@m2rl/core";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { setExitCode } from "../main.ts";

interface AnalyzeOptions {
  base: string;
  arm: string[];
  out: string;
  eval: string[];
  metrics: string[];
  costs?: string;
  prompts?: string;
  analyses?: string;
  options?: string;
  seed: string;
  title?: string;
  quiet?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** `name=path` → [name, path]; a bare path gets `fallbackName`. */
export function parseNamed(spec: string, flag: string, fallbackName?: string): [string, string] {
  const i = spec.indexOf("=");
  if (i < 0) {
    if (fallbackName !== undefined) return [fallbackName, spec];
    throw new ConfigError(`${flag} wants name=path, got ${JSON.stringify(spec)}`);
  }
  const name = spec.slice(0, i).trim();
  const path = spec.slice(i + 1).trim();
  if (!name || !path) throw new ConfigError(`${flag} wants name=path, got ${JSON.stringify(spec)}`);
  return [name, path];
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** An arm from a checkpoint path: its weights, and its policy when the folder has a config.json. */
async function armFromPath(
  name: string,
  path: string,
  kind?: ArmKind,
): Promise<{ arm: ArmInput; ckpt: Checkpoint }> {
  const ref = parseArmName(name);
  const ckpt = await openCheckpoint(path);
  const arm: ArmInput = { ...ref, ...(kind ? { kind } : {}), weights: ckpt };
  if ((await isDir(path)) && (await new NodeFileStore(path).exists("config.json"))) {
    arm.loadPolicy = async () => {
      await initBackend({ log: () => {} });
      return loadPolicy(new NodeFileStore(path), { trainable: false });
    };
  }
  return { arm, ckpt };
}

/** Reads the `--options` file: `{ <analysis>: {options} }` in YAML or JSON. */
async function readOptions(file: string): Promise<Record<string, Record<string, unknown>>> {
  const v = parseYaml(await readFile(file, "utf8")) as unknown;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError("must map analysis names to their options", { file });
  }
  return v as Record<string, Record<string, unknown>>;
}

export async function analyze(opts: AnalyzeOptions, log: (line: string) => void): Promise<number> {
  const opened: Checkpoint[] = [];
  try {
    const [baseName, basePath] = parseNamed(opts.base, "--base", "base");
    const armSpecs = opts.arm.map((spec) => parseNamed(spec, "--arm"));
    const metricSpecs = opts.metrics.map((spec) => parseNamed(spec, "--metrics"));
    const b = await armFromPath(
      baseName,
      basePath,
      parseArmName(baseName).kind === "other" ? "base" : undefined,
    );
    opened.push(b.ckpt);
    const arms: ArmInput[] = [];
    for (const [name, path] of armSpecs) {
      if (name === baseName || arms.some((a) => a.name === name))
        throw new ConfigError(`arm name '${name}' given twice`);
      const a = await armFromPath(name, path);
      opened.push(a.ckpt);
      arms.push(a.arm);
    }
    const evalRows = (await Promise.all(opts.eval.map(readEvalRows))).flat();
    const metrics: Record<string, MetricsRow[]> = {};
    for (const [name, path] of metricSpecs) {
      metrics[name] = [...(metrics[name] ?? []), ...(await readMetrics(path))];
    }
    const ctx: AnalysisContext = {
      base: b.arm,
      arms,
      evalRows: evalRows.length ? evalRows : undefined,
      metrics: Object.keys(metrics).length ? metrics : undefined,
      costs: opts.costs ? await readCosts(opts.costs) : undefined,
      prompts: opts.prompts ? await readPrompts(opts.prompts) : undefined,
      seed: Number.parseInt(opts.seed, 10),
      log,
    };
    if (!Number.isInteger(ctx.seed)) throw new ConfigError(`--seed must be an integer, got ${opts.seed}`);
    const optionFile = opts.options ? await readOptions(opts.options) : {};
    let selection: AnalysisSelection[] | undefined;
    if (opts.analyses) {
      selection = opts.analyses
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .map((name) => ({ name, options: optionFile[name] }));
    } else {
      selection = BUILTIN_ANALYSES.map((a) => ({ name: a.name, options: optionFile[a.name] }));
    }
    const run = await runAnalyses(ctx, BUILTIN_ANALYSES, selection);
    const report = await renderReport(run, {
      title: opts.title ?? "M2RL analysis",
      facts: [
        ["base", `${baseName} (${basePath})`],
        ["arms", arms.map((a) => a.name).join(", ") || "none"],
        ["seed", String(ctx.seed)],
        ["generated", new Date().toISOString().replace(/\.\d+Z$/, "Z")],
      ],
    });
    await writeReport(opts.out, report);
    log(`wrote ${join(opts.out, "report.html")}, report.md, report.json and ${report.charts.length} charts`);
    for (const s of run.skipped) log(`skipped ${s.analysis}: ${s.reason}`);
    for (const f of run.failed) log(`FAILED ${f.analysis}: ${f.error}`);
    return run.failed.length ? 1 : 0;
  } finally {
    for (const c of opened) await c.close();
  }
}

export function register(program: Command): void {
  program
    .command("analyze")
    .description(
      "weight geometry, prediction behaviour, skill overlap, information and efficiency analyses → report",
    )
    .requiredOption(
      "--base <[name=]path>",
      "base / SFT checkpoint every task vector is taken against (folder or .safetensors)",
    )
    .option(
      "--arm <name=path>",
      "an arm checkpoint (repeat); names: single:<domain>, mix, merge:<method>, mopd, ...",
      collect,
      [],
    )
    .requiredOption("--out <dir>", "output folder for report.md, report.html, report.json, charts/")
    .option("--eval <file>", "eval rows (JSONL or JSON; repeat)", collect, [])
    .option("--metrics <name=file>", "metrics.jsonl of an arm's training run (repeat)", collect, [])
    .option(
      "--costs <file>",
      "arm costs (JSON array of {arm, tokensGenerated, wallSeconds, parameters, ...})",
    )
    .option(
      "--prompts <file>",
      "eval prompts for the prediction analysis (JSONL of {domain, taskId, prompt})",
    )
    .option(
      "--analyses <list>",
      `comma-separated subset of: ${BUILTIN_ANALYSES.map((a) => a.name).join(", ")}`,
    )
    .option(
      "--options <file>",
      "YAML/JSON mapping analysis name → options (e.g. weight-geometry: {projection: {dims: 256}})",
    )
    .option("--seed <n>", "seed for projections and sampling", "0")
    .option("--title <text>", "report title")
    .option("--quiet", "no progress lines")
    .action(async (opts: AnalyzeOptions, command: Command) => {
      const log = opts.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
      try {
        setExitCode(command, await analyze(opts, log));
      } catch (err) {
        process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        setExitCode(command, err instanceof ConfigError ? 2 : 1);
      }
    });
}
