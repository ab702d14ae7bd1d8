/**
 * `m2rl analyze`: runs the analyses over a base checkpoint and named arms (folders or .safetensors files), with
 * optional eval rows, metrics.jsonl per arm, costs and prompts, and writes report.md / report.html / report.json.
 */
import { type Command, Option } from "commander";
import { onAction } from "./action.ts";

export interface AnalyzeOptions {
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

export function register(program: Command): void {
  // The names come from @m2rl/analysis, loaded only when `analyze` is dispatched (its --help included).
  const analyses = new Option(
    "--analyses <list>",
    "comma-separated subset of the built-in analyses (`m2rl analyze --help` lists them)",
  );
  const command = program
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
    .addOption(analyses)
    .option(
      "--options <file>",
      "YAML/JSON mapping analysis name → options (e.g. weight-geometry: {projection: {dims: 256}})",
    )
    .option("--seed <n>", "seed for projections and sampling", "0")
    .option("--title <text>", "report title")
    .option("--quiet", "no progress lines");
  onAction(command, async (opts: AnalyzeOptions) => (await import("./analyze-impl.ts")).analyzeCommand(opts));
  program.hook("preSubcommand", async (_program, sub) => {
    if (sub !== command) return;
    const { BUILTIN_ANALYSES } = await import("@m2rl/analysis");
    analyses.description = `comma-separated subset of: ${BUILTIN_ANALYSES.map((a) => a.name).join(", ")}`;
  });
}
