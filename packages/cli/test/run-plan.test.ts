import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArmConfig, ExperimentConfig } from "@m2rl/core";
import { afterEach, describe, expect, it } from "vitest";
import { dependents, planExperiment } from "../src/run/plan.ts";
import { type ArmExecutors, runPlan } from "../src/run/runner.ts";
import { RunStore } from "../src/run/store.ts";

function config(arms: ArmConfig[], sft = true): ExperimentConfig {
  return {
    name: "t",
    seed: 1,
    output: "runs/t",
    plugins: [],
    policy: { source: "builtin", builtin: "tiny", model: {}, ...(sft ? { sft: {} } : {}) },
    domains: {},
    arms,
    trainer: {},
    evaluation: { samples: 1, passAtK: [1], temperature: 0, topP: 1 },
    analysis: [],
  };
}

const single = (d: string): ArmConfig => ({
  id: `single:${d}`,
  kind: "single",
  domain: d,
  trainer: {},
  source: [],
});
const ARMS: ArmConfig[] = [
  { id: "merge:ties", kind: "merge", domains: ["math", "code"], method: "ties", parameters: {}, source: [] },
  {
    id: "mix",
    kind: "mix",
    domains: ["math", "code"],
    scheduler: "uniform",
    options: {},
    trainer: {},
    source: [],
  },
  single("math"),
  single("code"),
  { id: "mopd", kind: "mopd", domains: ["math", "code"], trainer: {}, source: [] },
];

describe("planExperiment", () => {
  it("adds base and sft, orders every arm after its dependencies, keeps file order otherwise", () => {
    const plan = planExperiment(config(ARMS));
    expect(plan.start).toBe("sft");
    expect(plan.nodes.map((n) => n.id)).toEqual([
      "base",
      "sft",
      "mix",
      "single:math",
      "single:code",
      "merge:ties",
      "mopd",
    ]);
    expect(plan.nodes.find((n) => n.id === "merge:ties")!.deps).toEqual([
      "sft",
      "single:math",
      "single:code",
    ]);
  });

  it("starts RL from base when there is no SFT", () => {
    const plan = planExperiment(config([single("math")], false));
    expect(plan.start).toBe("base");
    expect(plan.nodes.map((n) => [n.id, n.deps])).toEqual([
      ["base", []],
      ["single:math", ["base"]],
    ]);
  });

  it("rejects a merge over a domain without a single arm", () => {
    const arms: ArmConfig[] = [
      { id: "merge:linear", kind: "merge", domains: ["sci"], method: "linear", parameters: {}, source: [] },
    ];
    expect(() => planExperiment(config(arms))).toThrow(/needs arm 'single:sci'/);
  });

  it("--force of an arm reruns its dependents", () => {
    const plan = planExperiment(config(ARMS));
    expect([...dependents(plan, ["single:math"])].sort()).toEqual(["merge:ties", "mopd", "single:math"]);
  });
});

describe("runPlan", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function counting(failAt?: string): { ex: ArmExecutors; produced: string[] } {
    const produced: string[] = [];
    const ex: ArmExecutors = {
      async produce(job) {
        if (job.node.id === failAt) throw new Error(`crash in ${failAt}`);
        produced.push(job.node.id);
        return { tokensGenerated: 10, tokensTrained: 5, flops: 100 };
      },
      async evaluate(job) {
        return { math: job.node.id.length / 100 };
      },
    };
    return { ex, produced };
  }

  it("caches finished arms, resumes after a crash, and reruns forced arms with their dependents", async () => {
    dir = await mkdtemp(join(tmpdir(), "m2rl-run-"));
    const store = new RunStore(dir);
    const cfg = config(ARMS);
    const plan = planExperiment(cfg);

    const crashing = counting("merge:ties");
    await expect(runPlan(plan, cfg, store, crashing.ex)).rejects.toThrow(/crash in merge:ties/);
    expect(crashing.produced).toEqual(["base", "sft", "mix", "single:math", "single:code"]);

    const resumed = counting();
    const records = await runPlan(plan, cfg, store, resumed.ex);
    expect(resumed.produced).toEqual(["merge:ties", "mopd"]);
    expect(records.map((r) => r.id)).toEqual(plan.nodes.map((n) => n.id));
    expect(records[0].scores).toEqual({ math: 0.04 });

    const again = counting();
    await runPlan(plan, cfg, store, again.ex);
    expect(again.produced).toEqual([]);

    const forced = counting();
    await runPlan(plan, cfg, store, forced.ex, { force: ["single:code"] });
    expect(forced.produced).toEqual(["single:code", "merge:ties", "mopd"]);
  });

  it("a changed config invalidates exactly the arms it reaches", async () => {
    dir = await mkdtemp(join(tmpdir(), "m2rl-run-"));
    const store = new RunStore(dir);
    const cfg = config(ARMS);
    await runPlan(planExperiment(cfg), cfg, store, counting().ex);
    const changed = config(ARMS.map((a) => (a.id === "mix" ? { ...a, scheduler: "temperature" } : a)));
    const after = counting();
    await runPlan(planExperiment(changed), changed, store, after.ex);
    expect(after.produced).toEqual(["mix"]);
  });
});

describe("armHash", () => {
  it("RL trainer options do not invalidate base and sft; they do invalidate every trained arm and merges", async () => {
    const { armHash } = await import("../src/run/runner.ts");
    const a = config(ARMS);
    const b = { ...a, trainer: { optimizer: { lr: 1e-4 } } };
    const hashes = (c: ExperimentConfig) => {
      const plan = planExperiment(c);
      const h = new Map<string, string>();
      for (const n of plan.nodes)
        h.set(
          n.id,
          armHash(
            n,
            c,
            n.deps.map((d) => h.get(d)!),
          ),
        );
      return h;
    };
    const ha = hashes(a);
    const hb = hashes(b);
    expect(hb.get("base")).toBe(ha.get("base"));
    expect(hb.get("sft")).toBe(ha.get("sft"));
    for (const id of ["single:math", "mix", "mopd", "merge:ties"]) expect(hb.get(id)).not.toBe(ha.get(id));
  });

  it("hashes the resolved options: a default written out hashes as the default, a changed default does not", async () => {
    const { armHash } = await import("../src/run/runner.ts");
    const hashes = (c: ExperimentConfig) => {
      const h = new Map<string, string>();
      for (const n of planExperiment(c).nodes)
        h.set(
          n.id,
          armHash(
            n,
            c,
            n.deps.map((d) => h.get(d)!),
          ),
        );
      return h;
    };
    const a = hashes(config(ARMS));
    // the trainer's and the SFT's defaults, written out: nothing to recompute
    const explicit = { ...config(ARMS), trainer: { steps: 200, clip: { epsLow: 0.2 } } };
    explicit.policy = { ...explicit.policy, sft: { steps: 200, batchSize: 32 } };
    expect(hashes(explicit)).toEqual(a);
    // the same value on the arm or the experiment: the same resolved arm
    const onArm = config(ARMS.map((x) => (x.id === "single:math" ? { ...x, trainer: { groupSize: 8 } } : x)));
    const onExperiment = { ...config(ARMS), trainer: { groupSize: 8 } };
    expect(hashes(onArm).get("single:math")).toBe(hashes(onExperiment).get("single:math"));
    expect(hashes(onArm).get("single:math")).not.toBe(a.get("single:math"));
    // SFT options are the sft arm's: base keeps its hash
    const sft = { ...config(ARMS), policy: { ...config(ARMS).policy, sft: { steps: 5 } } };
    expect(hashes(sft).get("base")).toBe(a.get("base"));
    expect(hashes(sft).get("sft")).not.toBe(a.get("sft"));
    // every arm's evaluation generates up to the rollouts' maxNewTokens (unless evaluation.maxTokens sets it)
    const longer = { ...config(ARMS), trainer: { sampling: { maxNewTokens: 32 } } };
    expect(hashes(longer).get("base")).not.toBe(a.get("base"));
    const capped = (c: ExperimentConfig) => ({ ...c, evaluation: { ...c.evaluation, maxTokens: 16 } });
    expect(hashes(capped(longer)).get("base")).toBe(hashes(capped(config(ARMS))).get("base"));
  });

  it("a plan resolved for one seed refuses to run another seed's arms", async () => {
    const c = config(ARMS);
    const plan = planExperiment(c);
    const none: ArmExecutors = {
      produce: async () => ({ tokensGenerated: 0, tokensTrained: 0, flops: 0 }),
      evaluate: async () => ({}),
    };
    await expect(
      runPlan(plan, { ...c, seed: 2 }, new RunStore(join(tmpdir(), "never")), none),
    ).rejects.toThrow(/resolved for seed 1, the run is for seed 2/);
  });
});
