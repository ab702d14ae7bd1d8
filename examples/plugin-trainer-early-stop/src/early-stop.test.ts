// The plugin on a real Trainer and tiny CausalLM, with a verifier that grades every response wrong: the mean reward
// is 0 at every step, so the first step sets the best and the trainer stops after `patience` more steps.
import {
  CausalLM,
  CharTokenizer,
  type Domain,
  initBackend,
  MemoryFileStore,
  type Task,
  Trainer,
  type TrainerConfigInput,
  tinyConfig,
} from "@m2rl/core";
import { beforeAll, describe, expect, it } from "vitest";
import { earlyStop } from "./early-stop.ts";

const tok = new CharTokenizer("ab=");
const policy = () =>
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
    { seed: 1 },
  );
const tasks: Task[] = ["a", "b", "ab", "ba"].map((p) => ({
  id: p,
  domain: "never",
  prompt: `${p}=`,
  groundTruth: p,
}));
const never: Domain = {
  name: "never",
  tasks: async () => tasks,
  verify: async () => ({ reward: 0, status: "incorrect" }),
};
const config: TrainerConfigInput = {
  steps: 10,
  promptsPerStep: 2,
  groupSize: 2,
  seed: 3,
  sampling: { temperature: 1, topP: 1, maxNewTokens: 3 },
};

beforeAll(() => initBackend({ log: null }));

describe("early-stop trainer plugin", () => {
  it("stops after 1 + patience steps when the reward never improves", async () => {
    for (const patience of [1, 3]) {
      const trainer = new Trainer({
        policy: policy(),
        domains: [never],
        config,
        plugins: [earlyStop({ patience })],
      });
      const summary = await trainer.run();
      expect(summary.steps).toBe(1 + patience);
      expect(summary.stoppedEarly).toMatch(/^early-stop: mean reward has not beaten 0\.0000/);
    }
  });

  it("without the plugin the trainer runs every step", async () => {
    const summary = await new Trainer({ policy: policy(), domains: [never], config }).run();
    expect(summary.steps).toBe(10);
    expect(summary.stoppedEarly).toBeNull();
  });

  it("its state travels in checkpoints: a resumed run stops at the same step as an uninterrupted one", async () => {
    const stores = new Map<number, MemoryFileStore>();
    const first = new Trainer({
      policy: policy(),
      domains: [never],
      config: { ...config, checkpointEvery: 1 },
      plugins: [earlyStop({ patience: 3 })],
      checkpointStore: (step) => {
        const s = new MemoryFileStore(`step-${step}`);
        stores.set(step, s);
        return s;
      },
    });
    expect((await first.run()).steps).toBe(4);
    // Resume from step 2 (best 0, one step without improvement): two more steps reach patience 3.
    const plugin = earlyStop({ patience: 3 });
    const second = new Trainer({ policy: policy(), domains: [never], config, plugins: [plugin] });
    await second.restore(stores.get(2)!);
    expect(plugin.state).toEqual({ best: 0, since: 1 });
    const summary = await second.run();
    expect(summary.steps).toBe(4);
  });
});
