/**
 * The arm graph of an experiment: which arms exist, what each depends on, in which order they run. Pure: no IO.
 *
 * Rules (the paper's setup):
 * - `base` is the policy as loaded (or freshly initialised for a built-in recipe); it trains nothing.
 * - `sft` is supervised warm-up of `base`; it exists when the experiment has an `sft` arm or `policy.sft` options.
 * - RL arms (`single:<d>`, `mix`, `mopd`) start from `sft` when there is one, else from `base`.
 * - `merge:<m>` merges the `single:<d>` arms of its domains, with the start point as the merge base (task vectors
 *   tau_i = theta_i - theta_SFT, as in the paper).
 * - `mopd` distils the `single:<d>` arms of its domains (one teacher per domain) into a student that starts from
 *   the start point.
 * Every node carries its arm resolved (arms.ts): what its executor, its cost estimate and its hash read.
 */
import type { ArmConfig, ExperimentConfig } from "@m2rl/core";
import { ConfigError } from "@m2rl/core";
import { type ResolvedArm, resolveArm } from "./arms.ts";

export interface PlanNode {
  /** Arm id as in the experiment (`single:math`, `merge:ties`, ...). */
  id: string;
  arm: ArmConfig;
  /** The arm resolved against the experiment it was planned from (its seed, its options with defaults). */
  resolved: ResolvedArm;
  /** Ids of the arms whose outputs this arm needs. */
  deps: string[];
}

export interface Plan {
  /** Nodes in dependency order (every node after its deps), stable with respect to the file order. */
  nodes: PlanNode[];
  /** The arm RL starts from and task vectors are measured against: `sft` or `base`. */
  start: "sft" | "base";
  /** The experiment seed the arms were resolved with. */
  seed: number;
}

/**
 * Builds the arm graph of `config` (for its `seed`); `base` (and `sft` when asked for) are added when the file does
 * not list them. Throws a ConfigError when an arm's dependencies or its trainer options do not resolve.
 */
export function planExperiment(config: ExperimentConfig): Plan {
  const arms = [...config.arms];
  const has = (id: string) => arms.some((a) => a.id === id);
  const wantsSft = has("sft") || config.policy.sft !== undefined;
  if (!has("base")) arms.unshift({ id: "base", kind: "base", source: [], implied: true });
  if (wantsSft && !has("sft")) arms.splice(1, 0, { id: "sft", kind: "sft", source: [], implied: true });
  const start = wantsSft ? "sft" : "base";

  const nodes = new Map<string, PlanNode>();
  for (const arm of arms)
    nodes.set(arm.id, { id: arm.id, arm, resolved: resolveArm(arm, config), deps: depsOf(arm, start) });
  for (const node of nodes.values())
    for (const dep of node.deps)
      if (!nodes.has(dep))
        throw new ConfigError(`arm '${node.id}' needs arm '${dep}', which the experiment does not define`, {
          path: `arms.${node.id}`,
        });
  return { nodes: topoSort([...nodes.values()]), start, seed: config.seed };
}

function depsOf(arm: ArmConfig, start: "sft" | "base"): string[] {
  switch (arm.kind) {
    case "base":
      return [];
    case "sft":
      return ["base"];
    case "single":
    case "mix":
      return [start];
    case "merge":
      return [start, ...arm.domains.map((d) => `single:${d}`)];
    case "mopd":
      return [start, ...arm.domains.map((d) => `single:${d}`)];
  }
}

/** Kahn's algorithm, taking ready nodes in their original order so the plan is stable. */
function topoSort(nodes: PlanNode[]): PlanNode[] {
  const done = new Set<string>();
  const out: PlanNode[] = [];
  const pending = [...nodes];
  while (pending.length > 0) {
    const i = pending.findIndex((n) => n.deps.every((d) => done.has(d)));
    if (i < 0)
      throw new ConfigError(
        `the arms depend on each other in a cycle: ${pending.map((n) => n.id).join(", ")}`,
      );
    const [node] = pending.splice(i, 1);
    done.add(node.id);
    out.push(node);
  }
  return out;
}

/** Ids of `ids` and of every arm that depends on them, transitively (what `--force <arm>` reruns). */
export function dependents(plan: Plan, ids: Iterable<string>): Set<string> {
  const out = new Set(ids);
  for (const node of plan.nodes) if (node.deps.some((d) => out.has(d))) out.add(node.id);
  return out;
}

/** A file-system-safe folder name for an arm id (`single:math` → `single-math`). */
export function armFolder(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "-");
}
