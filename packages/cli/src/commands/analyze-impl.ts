/** The analyses of `m2rl analyze` over checkpoints given on the command line, and their report. */
// native kernels for initBackend and the BF16 codec of checkpoints (Node; M2RL_NATIVE=0 turns them off)
import "@m2rl/kernels-native/register";
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
import { parseYaml } from "@m2rl/core/config";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import type { AnalyzeOptions } from "./analyze.ts";

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
  const parsed = parseYaml(await readFile(file, "utf8"), file);
  const bad = parsed.problems.find((p) => p.severity === "error");
  if (bad) throw new ConfigError(bad.message, { file, line: bad.line });
  const v = parsed.data;
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

/** `m2rl analyze`: resolves to 0, 1 when an analysis failed or on an unexpected error, 2 on a usage error. */
export async function analyzeCommand(opts: AnalyzeOptions): Promise<number> {
  const log = opts.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  try {
    return await analyze(opts, log);
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
