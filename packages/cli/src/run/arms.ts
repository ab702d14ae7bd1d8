/**
 * The arms of an experiment resolved once, when it is planned: everything an arm's executor, its cost estimate and
 * its cache hash read, with every default filled in. Nothing downstream goes back to the experiment's raw blocks to
 * recompute an arm's options (so the three cannot disagree, and a default that changes invalidates the arms it
 * feeds).
 *
 * Roles:
 * - `base`: the policy as loaded, or freshly initialised for a built-in recipe;
 * - `sft`: supervised warm-up of the base on every domain's train references;
 * - `rl`: a single, mix or MOPD arm trained here (its resolved trainer config);
 * - `imported`: a single or mix arm trained elsewhere (`checkpoint:`), linked in;
 * - `merge`: a merge of the single arms of its domains over the start point.
 */
import {
  type ArmConfig,
  type ExperimentConfig,
  type GenerationsConfig,
  type OptionsInput,
  Rng,
  resolveTrainerConfig,
  SFT_OPTIONS,
  type SftOptions,
  TRAINER_OPTIONS,
  type TrainerConfig,
  type TrainerConfigInput,
  withDefaults,
} from "@m2rl/core";
import { armTrainerInput, isTrainedArm, type TrainedArm } from "./arm-trainer.ts";

interface Common {
  id: string;
  /** The arm as the experiment gives it. */
  arm: ArmConfig;
  /** The arm's seed: depends only on the experiment seed and the arm id. */
  seed: number;
  /** Eval generations made elsewhere that the arm is scored from (any role). */
  generations?: GenerationsConfig;
}

export interface BaseArm extends Common {
  role: "base";
}

export interface SftArm extends Common {
  role: "sft";
  /** `policy.sft` with its defaults, seeded with the arm's seed. */
  options: SftOptions;
  /** Judge-format examples per domain added to the SFT data (`evaluation.selfJudge.sftExamples`). */
  judgeExamples: number;
}

export interface RlArm extends Common {
  role: "rl";
  arm: TrainedArm;
  /** Domains it trains on. */
  domains: string[];
  /** Teacher arms of an MOPD arm (`single:<d>` per domain); empty otherwise. */
  teachers: string[];
  /** The trainer options as given (what the Trainer is constructed with): experiment ⊕ arm ⊕ what the kind fixes. */
  trainerInput: TrainerConfigInput;
  /** The same, resolved (defaults filled in, cross-field checks done). */
  trainer: TrainerConfig;
}

export interface ImportedArm extends Common {
  role: "imported";
  arm: Extract<ArmConfig, { kind: "single" | "mix" }>;
  /** Hugging Face folder, as written (relative to the experiment file). */
  checkpoint: string;
}

export interface MergeArm extends Common {
  role: "merge";
  arm: Extract<ArmConfig, { kind: "merge" }>;
  /** Registered merge method name. */
  method: string;
  /** The `single:<d>` arms merged, over the start point. */
  domains: string[];
  /** The method's parameters as written (checked against its schema at load). */
  parameters: Record<string, unknown>;
}

export type ResolvedArm = BaseArm | SftArm | RlArm | ImportedArm | MergeArm;

/**
 * The generation limit and stop strings of every evaluation (final and periodic, every arm alike):
 * `evaluation.maxTokens`, else the experiment's rollout `trainer.sampling.maxNewTokens`, resolved with the
 * trainer's defaults (1024 when the file sets none); the rollouts' stop strings.
 */
export function evalGeneration(config: ExperimentConfig): { maxNewTokens: number; stop?: string[] } {
  const given = config.trainer.sampling as OptionsInput<typeof TRAINER_OPTIONS.props.sampling> | undefined;
  const sampling = withDefaults(TRAINER_OPTIONS.props.sampling, given);
  return {
    maxNewTokens: config.evaluation.maxTokens ?? sampling.maxNewTokens,
    ...(sampling.stop ? { stop: sampling.stop } : {}),
  };
}

/** Seed of one arm: depends only on the experiment seed and the arm id. */
export function armSeed(config: ExperimentConfig, armId: string): number {
  return Rng.derive(config.seed, armId).nextUint32();
}

/** Resolves one arm of `config` (throws a ConfigError when its trainer options do not resolve). */
export function resolveArm(arm: ArmConfig, config: ExperimentConfig): ResolvedArm {
  const common = {
    id: arm.id,
    seed: armSeed(config, arm.id),
    ...(arm.generations ? { generations: arm.generations } : {}),
  };
  switch (arm.kind) {
    case "base":
      return { ...common, role: "base", arm };
    case "sft":
      return {
        ...common,
        role: "sft",
        arm,
        options: { ...withDefaults(SFT_OPTIONS, config.policy.sft ?? {}), seed: common.seed },
        judgeExamples: config.evaluation.selfJudge?.sftExamples ?? 0,
      };
    case "merge":
      return {
        ...common,
        role: "merge",
        arm,
        method: arm.method,
        domains: [...arm.domains],
        parameters: arm.parameters,
      };
    default:
      break;
  }
  if ((arm.kind === "single" || arm.kind === "mix") && arm.checkpoint !== undefined)
    return { ...common, role: "imported", arm, checkpoint: arm.checkpoint };
  if (!isTrainedArm(arm)) throw new Error(`unknown arm kind of '${(arm as ArmConfig).id}'`);
  const trainerInput = armTrainerInput(config, arm, common.seed);
  return {
    ...common,
    role: "rl",
    arm,
    domains: arm.kind === "single" ? [arm.domain] : [...arm.domains],
    teachers: arm.kind === "mopd" ? arm.domains.map((d) => `single:${d}`) : [],
    trainerInput,
    trainer: resolveTrainerConfig(trainerInput),
  };
}
