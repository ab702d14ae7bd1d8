/** The reward stage: each sample verified by its domain, plus the configured shaping terms. */
import type { Domain, Verification } from "../../domain/types.ts";
import { ConfigError } from "../../errors/index.ts";
import { overlongPenalty } from "../advantages.ts";
import type { TrainerConfig } from "../config.ts";
import type { Sample } from "../types.ts";
import { mapConcurrent } from "../yield.ts";

/**
 * reward = Σ rewardTerms: `verifier` (the domain's reward), `overlong` (DAPO's soft length penalty, when enabled),
 * and any term an earlier stage set. A verifier that throws gives status `error` and reward 0, never a silent 0.
 */
export async function rewardSamples(
  samples: readonly Sample[],
  domains: ReadonlyMap<string, Domain>,
  config: Pick<TrainerConfig, "overlong" | "sampling" | "verifyConcurrency">,
): Promise<Sample[]> {
  const ov = config.overlong;
  const maxLength = ov.maxLength ?? config.sampling.maxNewTokens;
  return mapConcurrent(samples, config.verifyConcurrency, async (s) => {
    const domain = domains.get(s.domain);
    if (!domain) throw new ConfigError(`sample of unknown domain '${s.domain}'`);
    const v: Verification = await domain
      .verify({ response: s.generation.text, groundTruth: s.task.groundTruth, task: s.task })
      .catch((err: unknown) => ({
        reward: 0,
        status: "error" as const,
        detail: `verifier of domain '${s.domain}' threw: ${(err as Error)?.message ?? String(err)}`,
      }));
    const terms: Record<string, number> = { ...s.rewardTerms, verifier: v.reward };
    if (ov.enabled) terms.overlong = overlongPenalty(s.generation.ids.length, { ...ov, maxLength });
    const reward = Object.values(terms).reduce((a, b) => a + b, 0);
    return { ...s, verification: v, rewardTerms: terms, reward };
  });
}
