/** `m2rl run`: the implementation behind commands/run.ts, loaded when the command runs. */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
// native kernels for initBackend and the BF16 codec of checkpoints (Node; M2RL_NATIVE=0 turns them off)
import "@m2rl/kernels-native/register";
import {
  type ExperimentConfig,
  experimentSeeds,
  formatProblem,
  initBackend,
  M2rlError,
  parseConfig,
  withSeeds,
} from "@m2rl/core";
import { stringify } from "yaml";
import { loadExperimentFile } from "../plugins/experiment.ts";
import type { ResolvedArm } from "../run/arms.ts";
import { promptFormat } from "../run/chat.ts";
import { builtinModelConfig, estimateArmCost, formatFlops, parameterCount } from "../run/cost.ts";
import { RunDisplay } from "../run/display.ts";
import { createDomains } from "../run/domains.ts";
import { createExecutors } from "../run/executors/index.ts";
import { hashOf } from "../run/hash.ts";
import { planExperiment } from "../run/plan.ts";
import { writeRunReport } from "../run/report.ts";
import { runSeeds } from "../run/runner.ts";
import { RunStore, seedRunDir } from "../run/store.ts";
import { sweepStaleTemps } from "../run/sweep.ts";
import { PRESETS, parseSeeds, presetFile, type RunOptions } from "./run.ts";

export async function runCommand(file: string | undefined, opts: RunOptions): Promise<number> {
  const display = new RunDisplay();
  try {
    return await runExperiment(file, opts, display);
  } catch (err) {
    display.stop();
    if (err instanceof M2rlError) {
      display.line(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function runExperiment(
  file: string | undefined,
  opts: RunOptions,
  display: RunDisplay,
): Promise<number> {
  const preset = opts.preset ?? "default";
  const seedsOption = opts.seeds === undefined ? undefined : parseSeeds(opts.seeds);
  if (typeof seedsOption === "string") {
    display.line(seedsOption);
    return 2;
  }
  if (!file && !PRESETS.includes(preset as (typeof PRESETS)[number])) {
    display.line(`unknown preset '${preset}' (known: ${PRESETS.join(", ")})`);
    return 2;
  }
  if (!file && preset === "paper" && !opts.model) {
    display.line(
      "--preset paper needs --model <dir>: a local Hugging Face model folder (and a GPU to finish in days, not months)",
    );
    return 2;
  }
  const experimentFile = file ?? presetFile(preset);
  const loaded = await loadExperimentFile(experimentFile, {}, file ?? `preset:${preset}`);
  for (const note of loaded.notes) display.line(`warning: ${note}`);
  for (const p of loaded.problems) display.line(formatProblem(p));
  if (!loaded.config) return 2;
  let config: ExperimentConfig = loaded.config;
  if (opts.model)
    config = { ...config, policy: { source: "path", path: resolve(opts.model), sft: config.policy.sft } };
  if (seedsOption) config = withSeeds(config, seedsOption);
  const seeds = experimentSeeds(config);
  const plan = planExperiment(config);
  // Outputs: relative to the experiment file's folder for a file, to the working directory for a preset.
  const outDir = resolve(opts.out ?? (file ? join(loaded.baseDir, config.output) : config.output));

  if (opts.dryRun) {
    const stores = seeds.map((s) => new RunStore(seedRunDir(outDir, s, seeds)));
    const modelConfig =
      config.policy.source === "path"
        ? parseConfig(
            await readFile(join(resolve(loaded.baseDir, config.policy.path), "config.json"), "utf8"),
          )
        : builtinModelConfig(config.policy.model);
    const params = parameterCount(modelConfig);
    const perSeed =
      seeds.length > 1 ? ` × ${seeds.length} seeds (${seeds.join(", ")}, each in seed-<s>/)` : "";
    display.line(
      `plan for '${config.name}' → ${relative(process.cwd(), outDir) || "."}  (policy: ${(params / 1e6).toFixed(2)}M parameters)${perSeed}`,
    );
    let total = 0;
    let mixFlops = 0;
    let separateFlops = 0;
    for (const [i, node] of plan.nodes.entries()) {
      let cached = 0;
      for (const store of stores) if (await store.readRecord(node.id)) cached++;
      const state =
        cached === stores.length ? "cached" : cached === 0 ? "to run" : `${cached}/${stores.length} cached`;
      const c = estimateArmCost(node.resolved, params);
      total += c.flops;
      if (node.arm.kind === "mix") mixFlops += c.flops;
      if (node.arm.kind === "single") separateFlops += c.flops;
      const cost = c.flops
        ? `  [${c.steps} steps, ${c.tokensGenerated.toLocaleString("en")} tokens sampled, ${formatFlops(c.flops)}]`
        : "";
      const deps = node.deps.length ? `  ← ${node.deps.join(", ")}` : "";
      display.line(
        `  ${String(i + 1).padStart(2)}. ${node.id.padEnd(24)} ${state.padEnd(seeds.length > 1 ? 10 : 7)} ${describe(node.resolved, config)}${cost}${deps}`,
      );
    }
    const ratio =
      mixFlops && separateFlops
        ? `; mix / separate single runs = ${((100 * mixFlops) / separateFlops).toFixed(1)}% (paper: 33.2% of GPU hours)`
        : "";
    const compute =
      seeds.length > 1
        ? `${formatFlops(total * seeds.length)} (${seeds.length} seeds × ${formatFlops(total)}; costs per arm above are per seed)`
        : formatFlops(total);
    display.line(`estimated training compute: ${compute}${ratio}`);
    return 0;
  }

  const backend = await initBackend({ log: (l) => display.line(l) });
  await mkdir(outDir, { recursive: true });
  // A killed run leaves temp files (partial checkpoints, reports); their writers are gone: remove them.
  const swept = await sweepStaleTemps(outDir);
  if (swept.length)
    display.line(
      `removed ${swept.length} temp file(s) left by killed runs (e.g. ${relative(outDir, swept[0])})`,
    );
  const writeRunFiles = async (dir: string, c: ExperimentConfig) => {
    const store = new RunStore(dir);
    await store.writeFileAtomic(join(dir, "config.yaml"), stringify(c));
    const seedsField = c.seeds ? { seeds: c.seeds } : {};
    await store.writeFileAtomic(
      join(dir, "run.json"),
      `${JSON.stringify({ name: c.name, seed: c.seed, ...seedsField, configHash: hashOf(c), backend, node: process.version, startedAt: new Date().toISOString() }, null, 2)}\n`,
    );
  };
  await writeRunFiles(outDir, config);

  const domains = await createDomains(
    config,
    loaded.host,
    loaded.baseDir,
    await promptFormat(config, loaded.baseDir),
  );
  const abort = new AbortController();
  const onSigint = () => {
    display.line("interrupted: finished arms are kept; run the same command again to resume");
    abort.abort(new Error("interrupted"));
  };
  process.once("SIGINT", onSigint);
  const here = (path: string) => relative(process.cwd(), path);
  try {
    const executorsFor = (c: ExperimentConfig) =>
      createExecutors({
        config: c,
        host: loaded.host,
        baseDir: loaded.baseDir,
        domains,
        progress: (arm, done, total, unit) => display.progress(arm, "", done, total, unit),
        log: (l) => display.line(l),
      });
    const runs = await runSeeds(plan, config, outDir, executorsFor, {
      force: opts.force,
      signal: abort.signal,
      seedStarted: async (run, i, n) => {
        if (n === 1) return;
        display.line(`▶ seed ${run.seed} (${i}/${n}) → ${here(run.store.dir)}`);
        await writeRunFiles(run.store.dir, run.config);
      },
      events: {
        armSkipped: (node) => display.line(`✓ ${node.id} (cached)`),
        armStarted: (node, i, n) => display.line(`▶ [${i}/${n}] ${node.id}`),
        armFinished: (node, rec) => {
          const scores = Object.entries(rec.scores)
            .map(([d, s]) => `${d} ${(100 * s).toFixed(1)}`)
            .join(", ");
          display.line(
            `✓ ${node.id} in ${rec.wallSeconds.toFixed(1)}s + eval ${rec.evalSeconds.toFixed(1)}s — ${scores}`,
          );
        },
      },
    });
    const log = (l: string) => display.line(`  ${l}`);
    const reportMd = join(outDir, "report.md");
    let wrote = false;
    // Several seeds: each seed's own report in its folder (its checkpoints, metrics, costs), then the pooled one.
    if (runs.length > 1)
      for (const run of runs)
        if (run.produced > 0 || !existsSync(join(run.store.dir, "report.md"))) {
          display.line(`▶ analyses and report of seed ${run.seed}`);
          await writeRunReport({ config: run.config, plan, runs: [run], host: loaded.host, log });
          wrote = true;
        }
    if (runs.some((r) => r.produced > 0) || !existsSync(reportMd)) {
      display.line(
        runs.length > 1 ? `▶ analyses and report over seeds ${seeds.join(", ")}` : "▶ analyses and report",
      );
      await writeRunReport({ config, plan, runs, dir: outDir, host: loaded.host, log });
      wrote = true;
    }
    if (!wrote) display.line("nothing to do: every arm is cached");
    display.line(`report: ${here(reportMd)} and ${here(join(outDir, "report.html"))}`);
    return 0;
  } finally {
    process.removeListener("SIGINT", onSigint);
    display.stop();
    for (const d of domains.values()) await d.close?.();
  }
}

function describe(arm: ResolvedArm, config: ExperimentConfig): string {
  switch (arm.role) {
    case "base":
      return config.policy.source === "path"
        ? `model ${config.policy.path}`
        : `tiny policy (${config.policy.builtin})`;
    case "sft":
      return `SFT ${arm.options.steps} steps`;
    case "imported":
      return `imported checkpoint ${arm.checkpoint}`;
    case "rl":
      return arm.arm.kind === "single"
        ? `GRPO on ${arm.domains[0]}, ${arm.trainer.steps} steps`
        : arm.arm.kind === "mix"
          ? `GRPO on ${arm.domains.join("+")} (${arm.trainer.scheduler.name}), ${arm.trainer.steps} steps`
          : `MOPD from ${arm.teachers.length} teachers, ${arm.trainer.steps} steps`;
    case "merge":
      return `${arm.method} of ${arm.domains.map((d) => `single:${d}`).join(", ")}`;
  }
}
