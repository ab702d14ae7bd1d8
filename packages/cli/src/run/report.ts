/**
 * After the arms: gathers what the analyses read (checkpoints, eval rows, metrics, costs) from the run folder, runs
 * the experiment's analyses (all registered ones by default) and writes report.md / report.html / report.json.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArmName, renderReport, runAnalyses, writeReport } from "@m2rl/analysis";
import type {
  Analysis,
  AnalysisContext,
  AnalysisPrompt,
  ArmCost,
  ArmInput,
  EvalRow,
  ExperimentConfig,
  MetricsRow,
  PluginHost,
} from "@m2rl/core";
import { loadPolicy } from "@m2rl/core";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import type { Plan } from "./plan.ts";
import type { ArmRecord, RunStore } from "./store.ts";

export interface ReportInput {
  config: ExperimentConfig;
  plan: Plan;
  store: RunStore;
  records: readonly ArmRecord[];
  host: PluginHost;
  log?: (line: string) => void;
}

/** Eval prompts per domain handed to the prediction analyses (they score every arm on each). */
const PROMPTS_PER_DOMAIN = 8;

export async function writeRunReport(input: ReportInput): Promise<string[]> {
  const { config, plan, store, records } = input;
  const evalRows: EvalRow[] = [];
  const metrics: Record<string, MetricsRow[]> = {};
  for (const r of records) {
    const ev = JSON.parse(await readFile(join(store.armDir(r.id), "eval.json"), "utf8")) as {
      rows: EvalRow[];
    };
    evalRows.push(...ev.rows);
    const text = await readFile(join(store.armDir(r.id), "metrics.jsonl"), "utf8").catch(() => "");
    const rows = text
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as MetricsRow);
    if (rows.length) metrics[r.id] = rows;
  }

  const armInput = async (id: string): Promise<ArmInput> => {
    const ref = parseArmName(id);
    const dir = store.checkpointDir(id);
    return {
      ...ref,
      name: id,
      weights: await openCheckpoint(dir),
      loadPolicy: () => loadPolicy(new NodeFileStore(dir), { trainable: false }),
    };
  };
  const base = await armInput(plan.start);
  const arms: ArmInput[] = [];
  for (const node of plan.nodes) {
    if (node.id === plan.start) continue;
    const arm = await armInput(node.id);
    // The random-init base is not a fine-tune of the SFT start: its weights would only add noise to the geometry.
    if (node.id === "base" && plan.start === "sft") arm.weights = undefined;
    arms.push(arm);
  }

  const parameters = await countParameters(store.checkpointDir(plan.start));
  const costs: ArmCost[] = records.map((r) => {
    const node = plan.nodes.find((n) => n.id === r.id)!;
    const rows = metrics[r.id] ?? [];
    return {
      arm: r.id,
      steps: rows.length,
      tokensGenerated: r.tokensGenerated,
      tokensTrained: r.tokensTrained,
      wallSeconds: r.wallSeconds,
      parameters,
      builtFrom:
        node.arm.kind === "merge" || node.arm.kind === "mopd"
          ? node.deps.filter((d) => d.startsWith("single:"))
          : undefined,
    };
  });

  const prompts: AnalysisPrompt[] = [];
  const seen = new Map<string, number>();
  for (const row of evalRows) {
    if (row.arm !== plan.start || row.sampleIndex !== 0 || typeof row.prompt !== "string") continue;
    const n = seen.get(row.domain) ?? 0;
    if (n >= PROMPTS_PER_DOMAIN) continue;
    seen.set(row.domain, n + 1);
    prompts.push({ domain: row.domain, taskId: row.taskId, prompt: row.prompt });
  }

  const ctx: AnalysisContext = {
    base,
    arms,
    evalRows,
    metrics,
    costs,
    prompts,
    seed: config.seed,
    log: input.log,
  };
  const available = input.host.registry.analyses.entries() as unknown as Analysis[];
  const selection = config.analysis.length
    ? config.analysis.map((a) => ({ name: a.name, options: a.options }))
    : undefined;
  const run = await runAnalyses(ctx, available, selection);
  for (const s of run.skipped) input.log?.(`skipped ${s.analysis}: ${s.reason}`);
  for (const f of run.failed) input.log?.(`FAILED ${f.analysis}: ${f.error}`);
  const rendered = await renderReport(run, {
    title: `M2RL — ${config.name}`,
    facts: [
      ["experiment", config.name],
      ["seed", String(config.seed)],
      ["start point", plan.start],
      ["arms", plan.nodes.map((n) => n.id).join(", ")],
    ],
  });
  return writeReport(store.dir, rendered);
}

async function countParameters(dir: string): Promise<number> {
  const ckpt = await openCheckpoint(dir);
  let n = 0;
  for (const name of ckpt.names) n += ckpt.tensor(name).shape.reduce((a, b) => a * b, 1);
  return n;
}
