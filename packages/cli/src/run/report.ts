/**
 * After the arms: gathers what the analyses read (checkpoints, eval rows, metrics, costs) from the run folder, runs
 * the experiment's analyses (all registered ones by default) and writes report.md / report.html / report.json.
 *
 * With several seeds the analyses get the eval rows of every seed, each with `row.seed` set to its run's seed (arm
 * names unchanged), and everything else from the first seed's run only: its checkpoints (weight geometry,
 * prediction), its metrics.jsonl (training curves) and its arm costs (cost table, mix vs merge), so that nothing is
 * counted once per seed. The report's header says so, and every analysis that read one of those gets a note.
 */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parseArmName, renderReport, runAnalyses, writeReport } from "@m2rl/analysis";
import type {
  Analysis,
  AnalysisContext,
  AnalysisPrompt,
  ArmCost,
  ArmInput,
  EvalRow,
  ExperimentConfig,
  HeldOutPoint,
  MetricsRow,
  PluginHost,
} from "@m2rl/core";
import { type Checkpoint, loadPolicy } from "@m2rl/core";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { HELD_OUT_FILE } from "./executors/index.ts";
import {
  checkpointParameters,
  type EvalSource,
  fitsHere,
  formatParameters,
  importedCheckpoint,
  importsAnything,
} from "./imported/index.ts";
import type { Plan } from "./plan.ts";
import type { SeedRun } from "./runner.ts";
import type { ArmRecord } from "./store.ts";

export interface ReportInput {
  /** The experiment (with several seeds: `seed` is the first, `seeds` all of them). */
  config: ExperimentConfig;
  plan: Plan;
  /** One finished run per seed, in seed order; the first one's checkpoints, metrics and costs are the ones read. */
  runs: readonly Pick<SeedRun, "seed" | "store" | "records">[];
  /** Folder of the report files; default: the first run's folder (the output folder when there is one seed). */
  dir?: string;
  host: PluginHost;
  log?: (line: string) => void;
}

/** Eval prompts per domain handed to the prediction analyses (they score every arm on each). */
const PROMPTS_PER_DOMAIN = 8;

export async function writeRunReport(input: ReportInput): Promise<string[]> {
  const { config, plan, runs } = input;
  if (runs.length === 0) throw new Error("writeRunReport: no run to report on");
  const first = runs[0];
  const { store, records } = first;
  const pooled = runs.length > 1;
  const dir = input.dir ?? store.dir;

  const evalRows: EvalRow[] = [];
  // Where each arm's eval rows came from (first seed): imported generations, not evaluated, else generated here.
  const evalSources = new Map<string, EvalSource>();
  for (const run of runs)
    for (const r of run.records) {
      const ev = JSON.parse(await readFile(join(run.store.armDir(r.id), "eval.json"), "utf8")) as {
        rows: EvalRow[];
        evaluation?: EvalSource;
      };
      if (run === first && ev.evaluation) evalSources.set(r.id, ev.evaluation);
      evalRows.push(...(pooled ? ev.rows.map((row) => ({ ...row, seed: run.seed })) : ev.rows));
    }
  const metrics: Record<string, MetricsRow[]> = {};
  const heldOut: Record<string, HeldOutPoint[]> = {};
  for (const r of records) {
    const rows = await readJsonLines<MetricsRow>(join(store.armDir(r.id), "metrics.jsonl"));
    if (rows.length) metrics[r.id] = rows;
    const points = await readJsonLines<HeldOutPoint>(join(store.armDir(r.id), HELD_OUT_FILE));
    if (points.length) heldOut[r.id] = points;
  }

  // With several seeds: which of the first seed's inputs the running analysis read (for its note).
  const reads = new Set<string>();
  const watch = <T extends object>(obj: T, key: keyof T & string, what: string): T => {
    if (!pooled) return obj;
    let value = obj[key];
    Object.defineProperty(obj, key, {
      enumerable: true,
      configurable: true,
      get: () => {
        if (value !== undefined) reads.add(what);
        return value;
      },
      set: (v: T[typeof key]) => {
        value = v;
      },
    });
    return obj;
  };

  // Every checkpoint opened for the analyses is closed when the report is written (or fails): file handles are
  // never left to the garbage collector.
  const opened: Checkpoint[] = [];
  const open = async (dir: string) => {
    const c = await openCheckpoint(dir);
    opened.push(c);
    return c;
  };
  try {
    return await report();
  } finally {
    for (const c of opened) await c.close();
  }

  async function report(): Promise<string[]> {
    const armInput = async (id: string): Promise<ArmInput> => {
      const ref = parseArmName(id);
      const dir = store.checkpointDir(id);
      const weights = await open(dir);
      // Weights are read tensor by tensor (weight-only analyses stream); the prediction analyses run the policy, so
      // only for models that fit evaluation.maxParameters.
      const fits =
        config.evaluation.maxParameters === undefined || fitsHere(config, await checkpointParameters(dir));
      const arm: ArmInput = {
        ...ref,
        name: id,
        weights,
        ...(fits ? { loadPolicy: () => loadPolicy(new NodeFileStore(dir), { trainable: false }) } : {}),
      };
      return watch(watch(arm, "weights", "checkpoints"), "loadPolicy", "checkpoints");
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
    // Imported arms were trained elsewhere: their cost is not measured here, so they are left out of the costs; with
    // an imported expert the mix is left out too, since its comparison with "separate + merge" would set a cost
    // measured here against one that was not. Merges stay (their merge time, and the experts they are built from).
    const importedIds = new Set(
      plan.nodes.filter((n) => importedCheckpoint(n.arm) !== undefined).map((n) => n.id),
    );
    const expertImported = plan.nodes.some((n) => n.arm.kind === "single" && importedIds.has(n.id));
    const costed = records.filter((r) => !importedIds.has(r.id) && !(expertImported && r.kind === "mix"));
    const costs: ArmCost[] = costed.map((r) => {
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
      if (pooled && row.seed !== first.seed) continue;
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
      heldOut,
      costs,
      prompts,
      seed: config.seed,
      log: input.log,
    };
    watch(
      watch(watch(ctx, "metrics", "training metrics"), "heldOut", "held-out curves"),
      "costs",
      "arm costs",
    );
    const seedList = runs.map((r) => r.seed).join(", ");
    const firstOnly = (analysis: Analysis): Analysis => {
      const wrapped = Object.create(analysis) as Analysis;
      Object.defineProperty(wrapped, "run", {
        value: async (...args: Parameters<Analysis["run"]>) => {
          reads.clear();
          const result = await analysis.run(...args);
          if (reads.size)
            result.notes = [
              ...(result.notes ?? []),
              `${[...reads].join(", ")}: seed ${first.seed}'s run only (the first of seeds ${seedList}); eval rows: every seed`,
            ];
          return result;
        },
      });
      return wrapped;
    };
    const registered: Analysis[] = input.host.registry.analyses.entries();
    const available = pooled ? registered.map(firstOnly) : registered;
    const selection = config.analysis.length
      ? config.analysis.map((a) => ({ name: a.name, options: a.options }))
      : undefined;
    const run = await runAnalyses(ctx, available, selection);
    for (const s of run.skipped) input.log?.(`skipped ${s.analysis}: ${s.reason}`);
    for (const f of run.failed) input.log?.(`FAILED ${f.analysis}: ${f.error}`);
    const seedFacts: [string, string][] = pooled
      ? [
          ["seeds", `${seedList} (the eval rows of every seed pooled, each row with its seed)`],
          [
            "checkpoints, metrics, costs",
            `seed ${first.seed}'s run only (${relative(dir, store.dir) || "."}/): weight geometry, prediction, training curves and costs are not averaged over seeds`,
          ],
        ]
      : [["seed", String(config.seed)]];
    const rendered = await renderReport(run, {
      title: `M2RL — ${config.name}`,
      facts: [
        ["experiment", config.name],
        ...seedFacts,
        ["start point", plan.start],
        ["arms", plan.nodes.map((n) => n.id).join(", ")],
        ...importFacts(config, plan, records, evalSources),
      ],
    });
    return writeReport(dir, rendered);
  }
}

/**
 * The report's facts about imports and the size limit (none for an experiment with neither, so its report is as
 * before): the imported checkpoints, what was trained here, and which arms were evaluated here, scored from imported
 * generations, or not evaluated and why.
 */
export function importFacts(
  config: ExperimentConfig,
  plan: Plan,
  records: readonly ArmRecord[],
  sources: ReadonlyMap<string, EvalSource>,
): [string, string][] {
  if (!importsAnything(config) && config.evaluation.maxParameters === undefined) return [];
  const list = (xs: string[]) => (xs.length ? xs.join("; ") : "none");
  const imported = plan.nodes.flatMap((n) => {
    const cp = importedCheckpoint(n.arm);
    return cp === undefined ? [] : [`${n.id} ← ${cp}`];
  });
  const trained = records.filter((r) => r.tokensTrained > 0 || r.flops > 0).map((r) => r.id);
  const here: string[] = [];
  const scored: string[] = [];
  const skipped: string[] = [];
  for (const r of records) {
    const s = sources.get(r.id);
    if (!s) here.push(r.id);
    else if (s.source === "skipped") skipped.push(`${r.id} (${s.reason})`);
    else
      scored.push(
        `${r.id} (${s.format}: ${s.files.join(", ")}; ${s.samples} samples, ${s.matched} on this experiment's eval tasks${s.engineCompared ? `; verdicts agree with the engine's reward on ${s.engineAgreed}/${s.engineCompared}` : ""})`,
      );
  }
  const limit = config.evaluation.maxParameters;
  return [
    ...(imported.length ? ([["imported checkpoints", list(imported)]] as [string, string][]) : []),
    ["trained here", trained.length ? trained.join(", ") : "nothing (no arm was trained by M2RL)"],
    [
      "evaluated here",
      `${list(here)}${limit === undefined ? "" : ` (models up to evaluation.maxParameters = ${formatParameters(limit)})`}`,
    ],
    ["scored from imported generations", list(scored)],
    ["not evaluated", list(skipped)],
  ];
}

/** The rows of a JSON-lines file; none when it does not exist. */
async function readJsonLines<T>(file: string): Promise<T[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

async function countParameters(dir: string): Promise<number> {
  const ckpt = await openCheckpoint(dir);
  try {
    let n = 0;
    for (const name of ckpt.names) n += ckpt.tensor(name).shape.reduce((a, b) => a * b, 1);
    return n;
  } finally {
    await ckpt.close();
  }
}
