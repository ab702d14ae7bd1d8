import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import "@m2rl/kernels-native/register";
import { formatProblem, initBackend, M2rlError, parseConfig } from "@m2rl/core";
import type { Command } from "commander";
import { stringify } from "yaml";
import { setExitCode } from "../main.ts";
import { loadExperimentFile } from "../plugins/experiment.ts";
import { builtinModelConfig, estimateArmCost, formatFlops, parameterCount } from "../run/cost.ts";
import { RunDisplay } from "../run/display.ts";
import { createDomains } from "../run/domains.ts";
import { createExecutors } from "../run/executors.ts";
import { hashOf } from "../run/hash.ts";
import { planExperiment } from "../run/plan.ts";
import { writeRunReport } from "../run/report.ts";
import { runPlan } from "../run/runner.ts";
import { RunStore } from "../run/store.ts";

export const PRESETS = ["smoke", "default", "paper"] as const;

/** The shipped experiment file of a preset. */
export function presetFile(preset: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/commands or dist/commands → package root/experiments
  return resolve(here, "..", "..", "experiments", `${preset}.yaml`);
}

interface RunOptions {
  preset?: string;
  force?: string[];
  dryRun?: boolean;
  out?: string;
  model?: string;
}

/** `m2rl run [experiment.yaml]`: runs every arm in dependency order, cached and resumable, then the report. */
export function register(program: Command): void {
  program
    .command("run")
    .description(
      "run an experiment end to end (arms in dependency order, cached under runs/<name>/, resumable), then analyse and report; without a file: the built-in experiment",
    )
    .argument("[experiment]", "experiment YAML file (default: the built-in experiment of --preset)")
    .option("--preset <name>", `built-in experiment size: ${PRESETS.join(" | ")}`, "default")
    .option(
      "--model <dir>",
      "model folder for --preset paper (a Hugging Face-style folder, e.g. Qwen2.5-0.5B)",
    )
    .option("--force <arm...>", "redo these arms (and every arm that depends on them)")
    .option("--dry-run", "print the plan (arms, dependencies, cached or not, estimated cost) and exit")
    .option("--out <dir>", "output folder (default: the experiment's `output`, else runs/<name>)")
    .action(async (file: string | undefined, opts: RunOptions, command: Command) => {
      setExitCode(command, await runCommand(file, opts));
    });
}

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
  let config = loaded.config;
  if (opts.model)
    config = { ...config, policy: { source: "path", path: resolve(opts.model), sft: config.policy.sft } };
  const plan = planExperiment(config);
  // Outputs: relative to the experiment file's folder for a file, to the working directory for a preset.
  const outDir = resolve(opts.out ?? (file ? join(loaded.baseDir, config.output) : config.output));
  const store = new RunStore(outDir);

  if (opts.dryRun) {
    const modelConfig =
      config.policy.source === "path"
        ? parseConfig(
            await readFile(join(resolve(loaded.baseDir, config.policy.path), "config.json"), "utf8"),
          )
        : builtinModelConfig(config.policy.model);
    const params = parameterCount(modelConfig);
    display.line(
      `plan for '${config.name}' → ${relative(process.cwd(), outDir) || "."}  (policy: ${(params / 1e6).toFixed(2)}M parameters)`,
    );
    let total = 0;
    let mixFlops = 0;
    let separateFlops = 0;
    for (const [i, node] of plan.nodes.entries()) {
      const state = (await store.readRecord(node.id)) ? "cached" : "to run";
      const c = estimateArmCost(node.arm, config, params);
      total += c.flops;
      if (node.arm.kind === "mix") mixFlops += c.flops;
      if (node.arm.kind === "single") separateFlops += c.flops;
      const cost = c.flops
        ? `  [${c.steps} steps, ${c.tokensGenerated.toLocaleString("en")} tokens sampled, ${formatFlops(c.flops)}]`
        : "";
      const deps = node.deps.length ? `  ← ${node.deps.join(", ")}` : "";
      display.line(
        `  ${String(i + 1).padStart(2)}. ${node.id.padEnd(24)} ${state.padEnd(7)} ${describe(node.arm, config)}${cost}${deps}`,
      );
    }
    const ratio =
      mixFlops && separateFlops
        ? `; mix / separate single runs = ${((100 * mixFlops) / separateFlops).toFixed(1)}% (paper: 33.2% of GPU hours)`
        : "";
    display.line(`estimated training compute: ${formatFlops(total)}${ratio}`);
    return 0;
  }

  const backend = await initBackend({ log: (l) => display.line(l) });
  await mkdir(outDir, { recursive: true });
  await store.writeFileAtomic(join(outDir, "config.yaml"), stringify(config));
  await store.writeFileAtomic(
    join(outDir, "run.json"),
    `${JSON.stringify({ name: config.name, seed: config.seed, configHash: hashOf(config), backend, node: process.version, startedAt: new Date().toISOString() }, null, 2)}\n`,
  );

  const domains = await createDomains(config, loaded.host, loaded.baseDir);
  const abort = new AbortController();
  const onSigint = () => {
    display.line("interrupted: finished arms are kept; run the same command again to resume");
    abort.abort(new Error("interrupted"));
  };
  process.once("SIGINT", onSigint);
  let did = 0;
  try {
    const executors = createExecutors({
      config,
      host: loaded.host,
      baseDir: loaded.baseDir,
      domains,
      progress: (arm, done, total, unit) => display.progress(arm, "", done, total, unit),
      log: (l) => display.line(l),
    });
    const records = await runPlan(plan, config, store, executors, {
      force: opts.force,
      signal: abort.signal,
      events: {
        armSkipped: (node) => display.line(`✓ ${node.id} (cached)`),
        armStarted: (node, i, n) => display.line(`▶ [${i}/${n}] ${node.id}`),
        armFinished: (node, rec) => {
          did++;
          const scores = Object.entries(rec.scores)
            .map(([d, s]) => `${d} ${(100 * s).toFixed(1)}`)
            .join(", ");
          display.line(
            `✓ ${node.id} in ${rec.wallSeconds.toFixed(1)}s + eval ${rec.evalSeconds.toFixed(1)}s — ${scores}`,
          );
        },
      },
    });
    const reportMd = join(outDir, "report.md");
    if (did > 0 || !existsSync(reportMd)) {
      display.line("▶ analyses and report");
      await writeRunReport({
        config,
        plan,
        store,
        records,
        host: loaded.host,
        log: (l) => display.line(`  ${l}`),
      });
    } else display.line("nothing to do: every arm is cached");
    display.line(
      `report: ${relative(process.cwd(), reportMd)} and ${relative(process.cwd(), join(outDir, "report.html"))}`,
    );
    return 0;
  } finally {
    process.removeListener("SIGINT", onSigint);
    display.stop();
    for (const d of domains.values()) await d.close?.();
  }
}

function describe(
  arm: import("@m2rl/core").ArmConfig,
  config: import("@m2rl/core").ExperimentConfig,
): string {
  const steps = (over: Record<string, unknown>) => Number(over.steps ?? config.trainer.steps ?? 0);
  switch (arm.kind) {
    case "base":
      return config.policy.source === "path"
        ? `model ${config.policy.path}`
        : `tiny policy (${config.policy.builtin})`;
    case "sft":
      return `SFT ${Number(config.policy.sft?.steps ?? 200)} steps`;
    case "single":
      return `GRPO on ${arm.domain}, ${steps(arm.trainer)} steps`;
    case "mix":
      return `GRPO on ${arm.domains.join("+")} (${arm.scheduler}), ${steps(arm.trainer)} steps`;
    case "merge":
      return `${arm.method} of ${arm.domains.map((d) => `single:${d}`).join(", ")}`;
    case "mopd":
      return `MOPD from ${arm.domains.length} teachers, ${steps(arm.trainer)} steps`;
  }
}
