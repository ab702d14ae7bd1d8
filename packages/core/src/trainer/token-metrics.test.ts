import { beforeAll, describe, expect, it } from "vitest";
import { useCpuBackend } from "./testing/backend.ts";
import { BigramPolicy } from "./testing/bigram-policy.ts";
import { toyDomain } from "./testing/toy-domain.ts";
import { Trainer, type TrainerPlugin } from "./trainer.ts";
import type { Sample } from "./types.ts";

beforeAll(useCpuBackend);

describe("step metrics: token counts", () => {
  it("responseTokens, trainedTokens and scoredTokens count what was sampled, back-propagated and scored", async () => {
    const base = toyDomain({ name: "alpha", letters: "abcd", answers: "1357" });
    let calls = 0;
    // The first verification of each step is an `error`: its group is dropped (sampled, never trained).
    const oneError = {
      ...base,
      verify: async (input: Parameters<typeof base.verify>[0]) =>
        calls++ % 16 === 0 ? { reward: 0, status: "error" as const, detail: "injected" } : base.verify(input),
    };
    const seen: Sample[] = [];
    const probe: TrainerPlugin = {
      name: "probe",
      apply: (tr) =>
        tr.hooks.reward.tap("probe", (batch) => {
          seen.push(...batch.samples);
          return batch;
        }),
    };
    const policy = new BigramPolicy("abcdefgh0123456789", 21);
    const t = new Trainer({
      policy,
      domains: [oneError],
      plugins: [probe],
      config: {
        steps: 1,
        promptsPerStep: 4,
        groupSize: 4,
        seed: 5,
        ppoEpochs: 2,
        sampling: { temperature: 1, topP: 1, maxNewTokens: 6 },
        optimizer: { lr: 0.01, weightDecay: 0 },
      },
    });
    const m = await t.trainStep();
    expect(seen.length).toBe(16);
    expect(m.groupsDroppedStatus).toBe(1);
    expect(m.groupsKept).toBe(3);

    const completion = (xs: Sample[]) => xs.reduce((a, s) => a + s.generation.ids.length, 0);
    const full = (xs: Sample[]) => xs.reduce((a, s) => a + s.promptIds.length + s.generation.ids.length, 0);
    const groups = [0, 1, 2, 3].map((g) => seen.slice(4 * g, 4 * g + 4));
    const kept = groups.filter((g) => !g.some((s) => s.verification?.status === "error")).flat();
    expect(kept.length).toBe(12);

    expect(m.responseTokens).toBe(completion(seen)); // every sampled completion, the dropped group's too
    expect(m.generatedTokens).toBe(full(seen)); // unchanged meaning: prompts included
    expect(m.tokens).toBe(full(kept));
    expect(m.trainedTokens).toBe(2 * full(kept)); // two PPO epochs over the kept prompt + completion
    expect(m.scoredTokens).toBe(full(kept)); // old log-probs recomputed once; no KL reference, not MOPD
    expect(m.trainedTokens).not.toBe(m.responseTokens);
    // the FLOPs formula reads the same counts
    const P = 20 * 20 + 20;
    expect(m.flops).toBe(6 * P * m.trainedTokens + 2 * P * (m.generatedTokens + m.scoredTokens));
    policy.dispose();
  });
});
