/**
 * The compute of a run, counted the usual way for decoder LMs (Kaplan et al.): a token costs 2·P FLOPs through a
 * forward pass and 6·P through forward + backward, P = the policy's parameter count. Sampling (generated tokens)
 * and scoring (old, reference and teacher log-probs) are forward passes; training is forward + backward.
 */
import type { Policy } from "../policy/types.ts";

export interface TokenCounts {
  /** Tokens through a forward pass only, while sampling. */
  generated?: number;
  /** Tokens through a forward pass only, while scoring. */
  scored?: number;
  /** Tokens through forward + backward. */
  trained?: number;
}

/** FLOPs = 2·P·(generated + scored) + 6·P·trained. */
export function trainingFlops(parameters: number, tokens: TokenCounts): number {
  return (
    2 * parameters * ((tokens.generated ?? 0) + (tokens.scored ?? 0)) + 6 * parameters * (tokens.trained ?? 0)
  );
}

/** Number of scalar parameters of a policy (every variable, trainable or not). */
export function policyParameterCount(policy: Pick<Policy, "params">): number {
  let n = 0;
  for (const v of policy.params.values()) n += v.size;
  return n;
}
