/**
 * Runs a plan arm by arm in dependency order, skipping arms whose record matches the hash of their inputs, so a
 * re-run after a crash or Ctrl-C continues where it stopped and a finished experiment does no work.
 */
import { ConfigError, type ExperimentConfig, experimentSeeds, IMPORTS_ONE_SEED, withSeeds } from "@m2rl/core";
import { evalGeneration, type ResolvedArm } from "./arms.ts";
import { hashOf } from "./hash.ts";
import { dependents, type Plan, type PlanNode, planExperiment } from "./plan.ts";
import { type ArmRecord, RunStore, seedRunDir } from "./store.ts";

/** What producing an arm (training, merging, or nothing for `base`) reports. */
export interface ArmOutput {
  tokensGenerated: number;
  tokensTrained: number;
  flops: number;
}

export interface ArmJob {
  node: PlanNode;
  /** Hash of the arm's inputs (what its cached result and resumable state belong to). */
  hash: string;
  plan: Plan;
  config: ExperimentConfig;
  store: RunStore;
  /** Records of the arms this one depends on (all finished). */
  deps: ReadonlyMap<string, ArmRecord>;
  signal: AbortSignal;
}

/** The work behind each arm kind, injected so the runner stays testable and the CLI wires the real engines. */
export interface ArmExecutors {
  /** Writes the arm's checkpoint to `store.checkpointDir(id)`; may resume from `store.workDir(id)`. */
  produce(job: ArmJob): Promise<ArmOutput>;
  /** Scores the arm's checkpoint on every domain's eval split; writes `eval.json`; returns mean reward per domain. */
  evaluate(job: ArmJob): Promise<Record<string, number>>;
  /**
   * What identifies the arm's inputs that live outside the experiment (an imported checkpoint, generation files),
   * added to its hash; undefined for an arm that has none (its hash is then unchanged).
   */
  fingerprint?(node: PlanNode): Promise<unknown>;
}

export interface RunEvents {
  armSkipped?(node: PlanNode, record: ArmRecord): void;
  armStarted?(node: PlanNode, index: number, total: number): void;
  armFinished?(node: PlanNode, record: ArmRecord): void;
}

export interface RunOptions {
  /** Arms to redo, with everything that depends on them. */
  force?: readonly string[];
  signal?: AbortSignal;
  events?: RunEvents;
  now?: () => number;
}

/**
 * Version of the cache layout: bump to invalidate every cached arm. 3: arms hash their resolved options (defaults
 * filled in) instead of the blocks as written.
 */
const CACHE_VERSION = 3;

/**
 * Hash of everything an arm's result depends on: its resolved arm (the parts of the experiment its role reads, with
 * every default filled in), the policy, the plugins, the evaluation settings, every domain's eval split, and its
 * deps' hashes. `base` and `sft` do not read the RL trainer options, so changing those keeps the (expensive) warm-up
 * cached; an RL arm reads the train splits of its own domains only; merges read only their parameters and their
 * inputs; an imported arm hashes `imported` (its folder's and files' fingerprints) instead of train data and
 * trainer options. A default that changes between versions of M2RL changes the hash of the arms it feeds.
 */
export function armHash(
  node: PlanNode,
  config: ExperimentConfig,
  depHashes: readonly string[],
  imported?: unknown,
): string {
  const { sft: _sft, ...policy } = config.policy;
  return hashOf({
    v: CACHE_VERSION,
    arm: hashedArm(node.resolved, config),
    policy,
    plugins: config.plugins,
    // the evaluation settings, with the generation limit and stop strings it takes from the rollouts' sampling
    evaluation: { ...config.evaluation, ...evalGeneration(config) },
    // Evaluation reads every domain's eval split.
    evalDomains: Object.fromEntries(
      Object.entries(config.domains).map(([id, d]) => [id, { ...d, train: undefined }]),
    ),
    deps: depHashes,
    ...(imported === undefined ? {} : { imported }),
  });
}

/** What an arm's own result depends on, by role (see armHash). */
function hashedArm(r: ResolvedArm, config: ExperimentConfig): unknown {
  const own = { id: r.id, kind: r.arm.kind, seed: r.seed, generations: r.generations };
  const train = (ids: readonly string[]) => Object.fromEntries(ids.map((d) => [d, config.domains[d]]));
  switch (r.role) {
    case "base":
      return own;
    case "sft":
      // SFT reads every domain's train references.
      return { ...own, options: r.options, judgeExamples: r.judgeExamples, train: config.domains };
    case "rl":
      return {
        ...own,
        domains: r.domains,
        teachers: r.teachers,
        trainer: r.trainer,
        train: train(r.domains),
      };
    case "imported":
      return { ...own, checkpoint: r.checkpoint };
    case "merge":
      return { ...own, method: r.method, domains: r.domains, parameters: r.parameters };
  }
}

export async function runPlan(
  plan: Plan,
  config: ExperimentConfig,
  store: RunStore,
  executors: ArmExecutors,
  options: RunOptions = {},
): Promise<ArmRecord[]> {
  const now = options.now ?? (() => performance.now());
  const signal = options.signal ?? new AbortController().signal;
  if (plan.seed !== config.seed)
    throw new Error(`the plan was resolved for seed ${plan.seed}, the run is for seed ${config.seed}`);
  const forced = dependents(plan, options.force ?? []);
  const records = new Map<string, ArmRecord>();
  let index = 0;
  for (const node of plan.nodes) {
    index++;
    signal.throwIfAborted();
    const hash = armHash(
      node,
      config,
      node.deps.map((d) => records.get(d)!.hash),
      await executors.fingerprint?.(node),
    );
    const previous = await store.readRecord(node.id);
    if (previous && previous.hash === hash && !forced.has(node.id)) {
      records.set(node.id, previous);
      options.events?.armSkipped?.(node, previous);
      continue;
    }
    // Stale or forced: drop old outputs; a forced arm also drops its resumable state.
    await store.clearArm(node.id, forced.has(node.id) || (previous !== undefined && previous.hash !== hash));
    options.events?.armStarted?.(node, index, plan.nodes.length);
    const job: ArmJob = {
      node,
      hash,
      plan,
      config,
      store,
      deps: new Map(node.deps.map((d) => [d, records.get(d)!])),
      signal,
    };
    const t0 = now();
    const out = await executors.produce(job);
    const t1 = now();
    signal.throwIfAborted();
    const scores = await executors.evaluate(job);
    const t2 = now();
    const record: ArmRecord = {
      id: node.id,
      kind: node.arm.kind,
      hash,
      wallSeconds: (t1 - t0) / 1000,
      evalSeconds: (t2 - t1) / 1000,
      ...out,
      scores,
      finishedAt: new Date().toISOString(),
    };
    await store.writeRecord(record);
    records.set(node.id, record);
    options.events?.armFinished?.(node, record);
  }
  return plan.nodes.map((n) => records.get(n.id)!);
}

/** One seed's run of the arm graph. */
export interface SeedRun {
  seed: number;
  /** The experiment as this seed runs it: `seed` set, no `seeds` (the experiment itself when it has one seed). */
  config: ExperimentConfig;
  store: RunStore;
  /** Its arms' records, in plan order. */
  records: ArmRecord[];
  /** Arms produced by this call (not taken from the cache). */
  produced: number;
}

export interface SeedRunOptions extends RunOptions {
  /** Called before a seed's arms run (to write its config.yaml / run.json, print a header). */
  seedStarted?(
    run: Omit<SeedRun, "records" | "produced">,
    index: number,
    total: number,
  ): Promise<void> | void;
}

/**
 * Runs the plan once per seed of the experiment (`experimentSeeds`), one seed after the other, each with
 * `config.seed` = that seed, its own executors and its own folder (`seedRunDir`: the output folder itself with one
 * seed), so that every seed's arms are cached and resumable exactly as a single run's. With one seed this is
 * `runPlan(plan, config, new RunStore(outDir), ...)`: same folder, same config object, same hashes.
 */
export async function runSeeds(
  plan: Plan,
  config: ExperimentConfig,
  outDir: string,
  executorsFor: (config: ExperimentConfig) => ArmExecutors,
  options: SeedRunOptions = {},
): Promise<SeedRun[]> {
  const seeds = experimentSeeds(config);
  // `--seeds` comes after validation: an experiment that imports runs once (its imports are one run elsewhere).
  if (seeds.length > 1 && config.arms.some((a) => a.generations || ("checkpoint" in a && a.checkpoint)))
    throw new ConfigError(`--seeds ${seeds.join(",")}: ${IMPORTS_ONE_SEED}`);
  const runs: SeedRun[] = [];
  for (const [i, seed] of seeds.entries()) {
    const seedConfig = seeds.length > 1 ? withSeeds(config, [seed]) : config;
    // Each seed's arms are resolved with its seed (the arm seeds derive from it); the graph is the same.
    const seedPlan = seeds.length > 1 ? planExperiment(seedConfig) : plan;
    const store = new RunStore(seedRunDir(outDir, seed, seeds));
    await options.seedStarted?.({ seed, config: seedConfig, store }, i + 1, seeds.length);
    let produced = 0;
    const events: RunEvents = {
      ...options.events,
      armFinished: (node, record) => {
        produced++;
        options.events?.armFinished?.(node, record);
      },
    };
    const records = await runPlan(seedPlan, seedConfig, store, executorsFor(seedConfig), {
      ...options,
      events,
    });
    runs.push({ seed, config: seedConfig, store, records, produced });
  }
  return runs;
}
