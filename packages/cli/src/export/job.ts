/**
 * One exported job, engine-neutral: the arm, its rows, how they are mixed, its options, the cluster shape, and the
 * `m2rl serve` command that grades its rewards. The engine writers (verl.ts, openrlhf.ts) turn it into a folder.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { EvaluationConfig, ExperimentConfig, TrainerConfig } from "@m2rl/core";
import { resolve as resolveModule } from "import-meta-resolve";
import type { ExportRow } from "./arm-data.ts";
import type { LaunchVariable } from "./launch.ts";
import type { MixPlan } from "./mix-order.ts";
import { defaultMicroBatch } from "./options.ts";

export interface JobInput {
  armId: string;
  armKind: "single" | "mix";
  /** The arm's domains (experiment ids), in the arm's order. */
  domains: string[];
  /** The arm's resolved trainer options (its seed included). */
  config: TrainerConfig;
  evaluation: EvaluationConfig;
  experiment: { name: string; file: string; seed: number };
  /** Train rows: M2RL's draw order (steps × promptsPerStep), or each domain's pool for a sampler. */
  train: ExportRow[];
  eval: ExportRow[];
  plan?: MixPlan;
  gpus: number;
  nodes: number;
  maxPrompt: { tokens: number; source: string };
  chat: { template: boolean; variables: Record<string, unknown> };
  /** The policy the arm starts from in M2RL, and the engine's default for it (absent: MODEL_PATH is required). */
  start: { arm: "sft" | "base"; model?: string; note: string };
  serve: ServeCommand;
}

/** How to run the reward service for a job: `m2rl serve` with the experiment's domain options and plugins. */
export interface ServeCommand {
  command: string;
  /** Domain id → the verifier that grades it. */
  domains: Record<string, string>;
  warnings: string[];
}

/**
 * `npx m2rl serve` with each verifier's options as the experiment gives them (data files left out: the service
 * only grades) and the experiment's plugins (third-party domains). Two experiment domains on one verifier with
 * different options cannot share one service: a warning says so.
 */
export function serveCommand(
  config: ExperimentConfig,
  baseDir: string,
  ids: readonly string[],
): ServeCommand {
  const options: Record<string, Record<string, unknown>> = {};
  const domains: Record<string, string> = {};
  const warnings: string[] = [];
  for (const id of ids) {
    const d = config.domains[id];
    domains[id] = d.verifier;
    const { data: _data, ...rest } = d.options as Record<string, unknown>;
    const prev = options[d.verifier];
    if (prev && JSON.stringify(prev) !== JSON.stringify(rest))
      warnings.push(
        `domains ${Object.keys(domains)
          .filter((k) => domains[k] === d.verifier)
          .join(
            ", ",
          )} use verifier '${d.verifier}' with different options: one m2rl serve grades them all with ` +
          `the options of the first; run a second service for the other`,
      );
    else if (Object.keys(rest).length > 0) options[d.verifier] = rest;
  }
  const words = ["npx", "m2rl", "serve", "--port", "8000"];
  if (Object.keys(options).length)
    words.push("--options", `'${JSON.stringify(options).replace(/'/g, `'\\''`)}'`);
  for (const p of config.plugins)
    words.push("--plugin", p.startsWith(".") || p.startsWith("/") ? resolve(baseDir, p) : p);
  return { command: words.join(" "), domains, warnings };
}

/** The folder of a workspace package's python/ files (…/verifiers/python) or of this package's export/python. */
export function exportPythonDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, "..", "..", "src", "export", "python");
}

/** verl's reward shim, shipped by @m2rl/verifiers (python/m2rl_reward.py). */
export function rewardShimFile(): string {
  const entry = fileURLToPath(resolveModule("@m2rl/verifiers/data", import.meta.url));
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "python", "m2rl_reward.py");
    if (existsSync(join(dir, "package.json")) && existsSync(file)) return file;
  }
  throw new Error(`cannot find @m2rl/verifiers' python/m2rl_reward.py (from ${entry})`);
}

/** The variables at the top of every engine's launch.sh: the start model, the reward service's URL, the micro-batch. */
export function launchVariables(job: JobInput): LaunchVariable[] {
  return [
    job.start.model
      ? { name: "MODEL_PATH", default: job.start.model, comment: "the policy the arm starts from" }
      : {
          name: "MODEL_PATH",
          required: "set MODEL_PATH to the Hugging Face model the arm starts from (see README.md)",
          comment: "the policy the arm starts from",
        },
    { name: "M2RL_REWARD_URL", default: "http://127.0.0.1:8000", comment: "where m2rl serve listens" },
    {
      name: "MICRO_BATCH_PER_GPU",
      default: String(defaultMicroBatch(job.config)),
      comment: "sequences per forward/backward chunk per GPU (memory only)",
    },
  ];
}
