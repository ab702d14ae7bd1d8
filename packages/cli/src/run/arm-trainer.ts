/**
 * The trainer options of one RL arm, resolved once per arm by arms.ts (which everything downstream reads): the
 * experiment's `trainer` ⊕ the arm's `trainer` (deep merge: arrays and scalars of the arm replace), then what the
 * arm kind fixes: its seed, the scheduler of a mix arm (replaced whole: one scheduler's options never leak into
 * another's), the algorithm of an MOPD arm.
 */
import type { ArmConfig, ExperimentConfig, TrainerConfigInput } from "@m2rl/core";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Deep merge of plain objects (arrays and scalars of `over` replace those of `base`). */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

export type TrainedArm = Extract<ArmConfig, { kind: "single" | "mix" | "mopd" }>;

export function isTrainedArm(arm: ArmConfig): arm is TrainedArm {
  return arm.kind === "single" || arm.kind === "mix" || arm.kind === "mopd";
}

/** The arm's trainer options as given (defaults not filled in): what the Trainer is constructed with. */
export function armTrainerInput(config: ExperimentConfig, arm: TrainedArm, seed: number): TrainerConfigInput {
  const out = deepMerge(config.trainer, arm.trainer);
  out.seed = seed;
  if (arm.kind === "mix") out.scheduler = { name: arm.scheduler, options: arm.options };
  if (arm.kind === "mopd") out.algorithm = "mopd";
  return out as TrainerConfigInput;
}
