import { costOf, estimateFlops } from "@m2rl/analysis";
import type { MetricsRow, StepMetrics, VerificationStatus } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { analysisFields } from "../src/run/executors/index.ts";

const statuses = (correct: number, error = 0): Record<VerificationStatus, number> => ({
  correct,
  incorrect: 0,
  unparsable: 0,
  timeout: 0,
  error,
});

/**
 * A hand-made trainer step: groupSize 2, every prompt 10 tokens, three groups sampled with completion lengths
 * [3, 5], [4, 4] and [6, 2]; the third group is dropped (a verifier `error`); ppoEpochs 2; old log-probs
 * recomputed once. Counted by hand:
 *   completion tokens sampled   3+5+4+4+6+2           = 24
 *   sampled incl. prompts       24 + 6·10             = 84  (the trainer's `generatedTokens`)
 *   kept prompt + completion    (3+5+4+4) + 4·10      = 56  (the trainer's `tokens`, one pass)
 *   forward + backward          56 × 2 epochs         = 112
 *   scored forward-only         56 (old log-probs)
 */
function step(index: number): StepMetrics {
  return {
    type: "step",
    step: index,
    lr: 1e-6,
    loss: 0.1,
    pgLoss: 0.1,
    kl: null,
    entropy: 1,
    clipFraction: 0,
    gradNorm: 1,
    meanReward: 0.5,
    accuracy: 0.5,
    statusCounts: statuses(3, 2),
    perDomain: {
      math: { prompts: 3, samples: 6, meanReward: 0.5, accuracy: 0.5, statusCounts: statuses(3, 2) },
    },
    batchDomains: ["math", "math"],
    schedulerWeights: { math: 1 },
    groupsKept: 2,
    groupsDroppedStatus: 1,
    groupsDroppedUniform: 0,
    samplingRounds: 1,
    meanResponseTokens: 24 / 6,
    tokens: 56,
    generatedTokens: 84,
    responseTokens: 24,
    trainedTokens: 112,
    scoredTokens: 56,
    flops: 0,
    wallMs: 1000,
    updates: 2,
    skipped: false,
  };
}

describe("run metrics rows: the cost table's token columns", () => {
  it("tokens generated are the sampled completions; tokens trained the kept prompt + completion × epochs", () => {
    const row = analysisFields(step(0), 1);
    expect(row.tokensGenerated).toBe(24); // not 84: prompts are not generated
    expect(row.tokensTrained).toBe(112); // not 84 (= generated before the fix): dropped group out, 2 epochs in
    expect(row.tokensScored).toBe(56);
    expect(row.responseLength).toBe(4);
  });

  it("the training analysis's cost row sums them per arm and estimates FLOPs from them", () => {
    const rows = [0, 1].map((i) => ({
      arm: "mix",
      step: i,
      ...analysisFields(step(i), i + 1),
    })) as MetricsRow[];
    const cost = costOf("mix", rows, undefined, 1000);
    expect(cost).toMatchObject({
      steps: 2,
      tokensGenerated: 48,
      tokensTrained: 224,
      tokensScored: 112,
      wallSeconds: 2,
    });
    expect(cost.tokensTrained).not.toBe(cost.tokensGenerated);
    // 2N·(generated + scored) + 6N·trained, N = 1000
    expect(cost.flops).toBe(2 * 1000 * (48 + 112) + 6 * 1000 * 224);
    expect(estimateFlops(1000, cost)).toBe(cost.flops);
  });
});
