/** `m2rl merge`: the implementation, loaded when the command runs. */
import { readFile } from "node:fs/promises";
import { ConfigError, M2rlError, PluginError } from "@m2rl/core/errors";
import {
  analyzeUpdates,
  DEFAULT_MEMORY_BUDGET,
  defaultWorkers,
  formatBytes,
  type MergeProgress,
  type MergeReport,
  memoryPlan,
  mergeMethodsPlugin,
  parseMergeConfig,
  parseSize,
  planMerge,
  runMerge,
  summarizeUpdates,
  workerCount,
} from "@m2rl/mergers";
import type { MergeOptions } from "../commands/merge.ts";
import { loadMergeHost } from "./plugins.ts";

const pct = (x: number) => (Number.isNaN(x) ? "  n/a" : `${(100 * x).toFixed(1).padStart(5)}%`);

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** The progress bar on a terminal (cli-progress is loaded only then), else nothing. */
async function makeBar(enabled: boolean): Promise<{ update: (p: MergeProgress) => void; stop: () => void }> {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const cliProgress = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format:
        "{phase} [{bar}] {percentage}% | {tensors} tensors | {gbDone}/{gbTotal} GB | ETA {eta_formatted}",
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = {
        phase: p.phase === "merge" ? "merging " : "scanning",
        tensors: `${p.tensorsDone}/${p.tensorsTotal}`,
        gbDone: (p.bytesDone / 1e9).toFixed(2),
        gbTotal: (p.bytesTotal / 1e9).toFixed(2),
      };
      if (!started) {
        bar.start(p.bytesTotal, p.bytesDone, payload);
        started = true;
      } else {
        bar.setTotal(p.bytesTotal);
        bar.update(p.bytesDone, payload);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function printUpdates(updates: MergeReport["updates"], modelNames: string[]): void {
  if (updates.length === 0) return;
  const w = Math.min(60, Math.max(...updates.map((u) => u.name.length)));
  process.stdout.write(
    `\nupdate density per model (tau != 0) and sign agreement among models that changed an entry:\n`,
  );
  process.stdout.write(`${"tensor".padEnd(w)}  ${modelNames.map((_, i) => `  m${i}  `).join(" ")}  signs\n`);
  for (const u of updates) {
    process.stdout.write(
      `${u.name.slice(0, w).padEnd(w)}  ${u.density.map(pct).join(" ")}  ${pct(u.signAgreement)}\n`,
    );
  }
  const s = summarizeUpdates(updates);
  process.stdout.write(`${"mean".padEnd(w)}  ${s.density.map(pct).join(" ")}  ${pct(s.signAgreement)}\n`);
  modelNames.forEach((m, i) => {
    process.stdout.write(`  m${i} = ${m}\n`);
  });
}

/**
 * Runs `m2rl merge <config> --out <dir>` with the parsed options; resolves to the exit code: 0, 2 for a bad config,
 * option or plugin (ConfigError, PluginError), 1 for any other failure: inputs that do not match, a NaN / ±Inf
 * weight read or about to be written (without --allow-nonfinite, which warns once per tensor instead), an output
 * config.json that does not describe the merged tensors. The per-tensor density table is printed only with
 * --analyze (it is in merge_report.json and --json either way).
 */
export async function merge(configPath: string, opts: MergeOptions): Promise<number> {
  const bar = await makeBar(opts.progress);
  try {
    const workers = opts.workers !== undefined ? Number.parseInt(opts.workers, 10) : undefined;
    if (workers !== undefined && !(workers >= 0))
      throw new ConfigError(`--workers must be >= 0, got ${opts.workers}`);
    const memoryBudget =
      opts.memoryBudget !== undefined
        ? parseSize(opts.memoryBudget, { file: "", path: "--memory-budget" })
        : DEFAULT_MEMORY_BUDGET;
    if (!(memoryBudget > 0))
      throw new ConfigError(`--memory-budget must be positive, got ${opts.memoryBudget}`);
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch {
      throw new ConfigError("cannot read the merge config", { file: configPath });
    }
    // the methods come from a plugin host: the built-ins and those of --plugin, in the workers too
    const { host, modules } = await loadMergeHost(opts.plugin);
    const config = parseMergeConfig(text, configPath, host.registry.mergeMethods);
    const plan = await planMerge(config, { outDir: opts.out, overwrite: opts.overwrite });
    for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
    const names = config.models.map((m) => m.model);
    if (!opts.json) {
      const owner = host.registry.mergeMethods.owner(plan.method.name);
      const from = owner && owner !== mergeMethodsPlugin.name ? ` (plugin ${owner})` : "";
      process.stdout.write(
        `${plan.method.name}${from}: ${names.length} model(s)${plan.basePath ? " + base" : ""}, ${plan.tensors.length} tensors, read ${gb(plan.inputBytes)}, write ${gb(plan.outputBytes)}${plan.globalStats ? ", whole-model pre-pass" : ""}\n`,
      );
    }
    const warn = (w: string) => process.stderr.write(`warning: ${w}\n`);
    if (opts.analyze) {
      const updates = await analyzeUpdates(plan, bar.update, undefined, {
        allowNonFinite: opts.allowNonfinite,
        onWarning: warn,
      });
      bar.stop();
      printUpdates(updates, names);
    }
    if (opts.dryRun) {
      // the memory plan (chunk size, peak), or the refusal a merge would meet, from the headers alone
      const threads = workerCount(plan, workers ?? defaultWorkers(), modules);
      const mem = memoryPlan(plan, { budget: memoryBudget, workers: threads });
      if (!opts.json)
        process.stdout.write(
          `memory: budget ${formatBytes(mem.budget)}, chunks of ${mem.chunkElements} elements, planned peak ${formatBytes(mem.peakBytes)} (${mem.largest.name})\n`,
        );
      return 0;
    }
    const report = await runMerge(plan, {
      outDir: opts.out,
      workers,
      memoryBudget,
      plugins: modules,
      overwrite: opts.overwrite,
      durable: opts.fsync,
      allowNonFinite: opts.allowNonfinite,
      onWarning: warn,
      onProgress: bar.update,
    });
    bar.stop();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const m = report.memory;
      process.stdout.write(
        `\nwrote ${report.files.length} file(s) to ${report.outDir} in ${report.seconds.toFixed(1)} s (${((report.inputBytes + report.outputBytes) / report.seconds / 1e9).toFixed(2)} GB/s, ${report.workers} workers, ${report.kernels} kernels)\n` +
          `memory: buffers peaked at ${formatBytes(m.accountedPeakBytes)} of the ${formatBytes(m.budgetBytes)} budget, process peak RSS ${formatBytes(m.rssPeakBytes)}\n`,
      );
    }
  } catch (err) {
    bar.stop();
    // M2RL errors name the file / field / tensor; anything else is unexpected: show its stack
    const e = err as Error;
    process.stderr.write(`m2rl merge: ${err instanceof M2rlError ? e.message : (e.stack ?? String(e))}\n`);
    // bad input (config, options, --plugin) exits 2; a merge that failed on the way, 1
    return err instanceof ConfigError || err instanceof PluginError ? 2 : 1;
  }
  return 0;
}
