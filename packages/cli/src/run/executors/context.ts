/**
 * What every arm executor shares: the experiment, its plugin host and domains, progress, the arm seeds, and how an
 * arm's policy is read from and written to its checkpoint folder.
 */
import {
  type Domain,
  type ExperimentConfig,
  loadPolicy,
  type PluginHost,
  type Policy,
  savePolicy,
} from "@m2rl/core";
import { atomicDirectory, NodeFileStore } from "@m2rl/io-node";
import type { ArmJob } from "../runner.ts";

/** `done` of `total` units of the current arm (steps, tensors, eval tasks). */
export type ProgressSink = (armId: string, done: number, total: number, unit: string) => void;

export interface ExecutorContext {
  config: ExperimentConfig;
  host: PluginHost;
  /** Folder of the experiment file: relative paths resolve against it. */
  baseDir: string;
  domains: ReadonlyMap<string, Domain>;
  progress?: ProgressSink;
  log?: (line: string) => void;
}

/** Seed of the eval task draw of every run: fixed, so that runs with different seeds share their eval tasks. */
export const EVAL_TASK_SEED = 0;

export function report(ctx: ExecutorContext, id: string, done: number, total: number, unit: string): void {
  ctx.progress?.(id, done, total, unit);
}

/** The experiment's domains with these ids (default: all, in file order). */
export function domainList(ctx: ExecutorContext, ids?: readonly string[]): Domain[] {
  return (ids ?? Object.keys(ctx.config.domains)).map((id) => {
    const d = ctx.domains.get(id);
    if (!d) throw new Error(`unknown domain '${id}'`);
    return d;
  });
}

/** The policy in arm `armId`'s checkpoint folder. */
export async function loadArm(job: ArmJob, armId: string, trainable = true): Promise<Policy> {
  return loadPolicy(new NodeFileStore(job.store.checkpointDir(armId)), { trainable });
}

/**
 * Writes the job's arm checkpoint into a temp folder beside it, then swaps it in: the old checkpoint is moved
 * aside and removed only after the new one is in place, so a kill at any moment leaves a complete checkpoint (or
 * temp folders that the next run's sweep removes).
 */
export async function saveArm(job: ArmJob, policy: Policy): Promise<void> {
  await atomicDirectory(
    job.store.checkpointDir(job.node.id),
    (tmp) => savePolicy(policy, new NodeFileStore(tmp)),
    { overwrite: true, durable: false },
  );
}
