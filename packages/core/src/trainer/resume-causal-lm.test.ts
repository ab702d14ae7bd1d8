// Resume on the real policy: N steps, checkpoint, a fresh CausalLM + trainer restored from it, N more steps gives
// bitwise the parameters of 2N uninterrupted steps (mixing scheduler, data cursors, RNG and AdamW state included).
import { beforeAll, describe, expect, it } from "vitest";
import { MemoryFileStore } from "../checkpoint/index.ts";
import { CausalLM, CharTokenizer, tinyConfig } from "../policy/index.ts";
import type { TrainerConfigInput } from "./config.ts";
import { useCpuBackend } from "./testing/backend.ts";
import { copyDomain } from "./testing/copy-domain.ts";
import { Trainer } from "./trainer.ts";

beforeAll(useCpuBackend);

describe("resume with the tiny CausalLM", () => {
  it("2 + 2 steps == 4 steps, bitwise", async () => {
    const tok = new CharTokenizer("abcdef=");
    const make = (seed: number) =>
      new CausalLM(
        tinyConfig({
          vocabSize: tok.vocabSize,
          hiddenSize: 16,
          layers: 1,
          heads: 2,
          kvHeads: 1,
          eosId: tok.eosId,
        }),
        tok,
        { seed },
      );
    const domains = () => [
      copyDomain({ name: "copy2", letters: "abc", length: 2, evalFraction: 0.3 }),
      copyDomain({ name: "copy3", letters: "def", length: 3, evalFraction: 0.3 }),
    ];
    const config: TrainerConfigInput = {
      steps: 4,
      promptsPerStep: 4,
      groupSize: 4,
      seed: 5,
      sampling: { temperature: 1, topP: 0.9, maxNewTokens: 4 },
      optimizer: { lr: 1e-2, weightDecay: 0.1 },
      scheduler: { name: "proportional", options: {} },
    };
    const full = make(0);
    await new Trainer({ policy: full, domains: domains(), config }).run();

    const stores = new Map<number, MemoryFileStore>();
    const first = new Trainer({
      policy: make(0),
      domains: domains(),
      config: { ...config, checkpointEvery: 2 },
      checkpointStore: (step) => {
        const s = new MemoryFileStore(`ck-${step}`);
        stores.set(step, s);
        return s;
      },
      plugins: [
        {
          name: "kill",
          apply: (t) => t.hooks.afterStep.tap("kill", (_m, ctx) => void (ctx.step === 1 && ctx.stop("kill"))),
        },
      ],
    });
    await first.run();
    const resumed = make(123);
    const second = new Trainer({ policy: resumed, domains: domains(), config });
    await second.restore(stores.get(2)!);
    await second.run();
    for (const [name, p] of full.params) {
      expect(Array.from(resumed.params.get(name)!.dataSync()), name).toEqual(Array.from(p.dataSync()));
    }
  }, 300_000);
});
