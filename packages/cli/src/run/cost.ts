/**
 * A priori cost of each arm for `m2rl run --dry-run`: tokens and FLOPs from the experiment's step counts, batch
 * shapes and the policy's parameter count. FLOPs per token: 2·P to generate, 2·P to score old log-probs, 6·P to
 * train (forward + backward); SFT trains only; merges and evaluation are not counted (they are small next to RL), nor
 * imported arms (trained elsewhere).
 */
import type { CausalLMConfig } from "@m2rl/core";
import { CharTokenizer, tinyConfig, trainingFlops } from "@m2rl/core";
import type { ResolvedArm } from "./arms.ts";

export interface ArmCostEstimate {
  steps: number;
  /** Completion tokens sampled. */
  tokensGenerated: number;
  /** Tokens through forward + backward. */
  tokensTrained: number;
  flops: number;
}

export { parameterCount } from "@m2rl/core";

/** The built-in tiny policy's config, sized to the character tokenizer's vocabulary (as `m2rl run` builds it). */
export function builtinModelConfig(model: Record<string, unknown>): CausalLMConfig {
  const tokenizer = new CharTokenizer();
  return tinyConfig({
    vocabSize: tokenizer.vocabSize,
    eosId: tokenizer.eosId,
    padId: tokenizer.padId,
    ...(model as object),
  });
}

const PROMPT_TOKENS = 24;

/** The a-priori cost of one resolved arm for a policy of `params` parameters. */
export function estimateArmCost(arm: ResolvedArm, params: number): ArmCostEstimate {
  switch (arm.role) {
    // a base is loaded, a merge is small next to RL, an imported checkpoint was trained elsewhere
    case "base":
    case "merge":
    case "imported":
      return { steps: 0, tokensGenerated: 0, tokensTrained: 0, flops: 0 };
    case "sft": {
      const trained = arm.options.steps * arm.options.batchSize * (PROMPT_TOKENS + 8);
      return {
        steps: arm.options.steps,
        tokensGenerated: 0,
        tokensTrained: trained,
        flops: trainingFlops(params, { trained }),
      };
    }
    case "rl": {
      const t = arm.trainer;
      const samples = t.steps * t.promptsPerStep * t.groupSize;
      const generated = samples * t.sampling.maxNewTokens;
      const trained = samples * (PROMPT_TOKENS + t.sampling.maxNewTokens) * t.ppoEpochs;
      // MOPD also scores every sample under its domain's teacher
      const scored = samples * (PROMPT_TOKENS + t.sampling.maxNewTokens) * (arm.teachers.length ? 2 : 1);
      return {
        steps: t.steps,
        tokensGenerated: generated,
        tokensTrained: trained,
        flops: trainingFlops(params, { generated, scored, trained }),
      };
    }
  }
}

/** "1.2 TFLOP" */
export function formatFlops(f: number): string {
  const units = ["", "k", "M", "G", "T", "P", "E"];
  let i = 0;
  while (f >= 1000 && i < units.length - 1) {
    f /= 1000;
    i++;
  }
  return `${f.toFixed(f < 10 ? 2 : 1)} ${units[i]}FLOP`;
}
