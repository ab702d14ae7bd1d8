/** The rollout stage: `groupSize` sampled completions per prompt, grouped by prompt. */
import type { Task } from "../../domain/types.ts";
import type { Generation, Policy } from "../../policy/types.ts";
import { Rng } from "../../rng/index.ts";
import type { TrainerConfig } from "../config.ts";
import type { Sample } from "../types.ts";
import { yieldToEventLoop } from "../yield.ts";

/**
 * Samples G completions of each task's prompt with the rollout sampling settings, `rolloutBatchSize` sequences per
 * generate call; chunk k samples with its own seed derived from `seed` (chunk 0 with `seed` itself).
 */
export async function rolloutGroups(
  policy: Policy,
  tasks: readonly Task[],
  config: Pick<TrainerConfig, "groupSize" | "sampling" | "rolloutBatchSize">,
  seed: number,
): Promise<Sample[]> {
  const G = config.groupSize;
  const promptIds = tasks.map((t) => policy.tokenizer.encode(t.prompt));
  const prompts: number[][] = [];
  for (const ids of promptIds) for (let i = 0; i < G; i++) prompts.push(ids);
  const s = config.sampling;
  const chunk = config.rolloutBatchSize > 0 ? config.rolloutBatchSize : prompts.length;
  const gens: Generation[] = [];
  for (let i = 0, k = 0; i < prompts.length; i += chunk, k++) {
    const part = await policy.generate(prompts.slice(i, i + chunk), {
      temperature: s.temperature,
      topP: s.topP,
      maxNewTokens: s.maxNewTokens,
      stop: s.stop,
      seed: k === 0 ? seed : Rng.derive(seed, `rollout:${k}`).nextUint32(),
    });
    gens.push(...part);
    await yieldToEventLoop();
  }
  return gens.map((g, i) => {
    const task = tasks[Math.floor(i / G)];
    return {
      task,
      domain: task.domain,
      group: Math.floor(i / G),
      promptIds: promptIds[Math.floor(i / G)],
      generation: g,
      reward: 0,
      rewardTerms: {},
      advantage: 0,
    };
  });
}
