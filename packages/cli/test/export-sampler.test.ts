/**
 * The adaptive mixing scheduler reacts to rewards, so its prompt order cannot be written down before training:
 * `m2rl export --engine verl` writes each domain's task pool and a curriculum sampler (python, standard library
 * only) that applies the same rule to verl's rewards. Here M2RL's trainer (its sampleBatch hook, the scheduler it
 * builds, fed the step's per-domain mean rewards as trainStep does) and the exported sampler (driven as verl drives
 * it: iterate, then update(batch) after each step, the batch's samples regrouped as verl's balance_batch may) run on
 * the same recorded reward sequence, and must draw the same rows, step by step; the sampler's state survives a
 * state_dict round trip (verl checkpoints the dataloader with it). V8's Math.exp, which the softmax uses, is
 * checked bit for bit against the sampler's port.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type MixingScheduler, type Policy, Rng, Trainer } from "@m2rl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCommand } from "../src/export/command.ts";
import type { MixPlan } from "../src/export/mix-order.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { createDomains } from "../src/run/domains.ts";
import { planExperiment } from "../src/run/plan.ts";

const hasPython = spawnSync("python3", ["--version"]).status === 0;
const inCi = !!process.env.CI && process.env.CI !== "false";

const tmp = mkdtempSync(join(tmpdir(), "m2rl-export-adaptive-"));
const experiment = join(tmp, "exp.yaml");
const STEPS = 14;
const B = 5;
const G = 4;
writeFileSync(
  experiment,
  `name: adaptive-export
seed: 3
policy: { builtin: tiny }
domains:
  math: { train: { count: 30 }, eval: { count: 4 } }
  science: { train: { count: 6 }, eval: { count: 4 } }
  ifeval: { train: { count: 20 }, eval: { count: 4 } }
arms:
  mix: { scheduler: adaptive, options: { tau: 0.1, alpha: 0.5 }, trainer: { steps: ${STEPS} } }
trainer: { promptsPerStep: ${B}, groupSize: ${G} }
`,
);
const job = join(tmp, "verl", "mix");

/** The recorded rewards: sample j of the prompt at place i of step s, by domain (dyadic: sums exact in any order). */
const TABLE: Record<string, number[]> = {
  math: [1, 1, 0.5, 1],
  science: [0, 0.25, 0, 0],
  ifeval: [0.5, 0, 1, 0.25],
};
const reward = (domain: string, step: number, i: number, j: number) => TABLE[domain][(step + 3 * i + j) % 4];

beforeAll(async () => {
  const logs: string[] = [];
  const code = await exportCommand(experiment, {
    engine: "verl",
    out: join(tmp, "verl"),
    gpus: 1,
    nodes: 1,
    log: (l) => logs.push(l),
  });
  expect(code, logs.join("\n")).toBe(0);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** M2RL's trainer on the recorded rewards: each step's rows of the exported train file. */
async function trainerRows(rowOf: Map<string, number>): Promise<number[][]> {
  const loaded = await loadExperimentFile(experiment);
  const config = loaded.config!;
  const domains = await createDomains(config, loaded.host, tmp);
  const arm = planExperiment(config).nodes.find((n) => n.id === "mix")!.resolved;
  if (arm.role !== "rl") throw new Error(arm.role);
  const trainer = new Trainer({
    policy: { params: new Map() } as unknown as Policy,
    domains: arm.domains.map((id) => domains.get(id)!),
    config: arm.trainerInput,
    schedulerRegistry: { get: (name) => loaded.host.registry.mixingSchedulers.find(name) },
  });
  await trainer.init();
  const scheduler = (trainer as unknown as { scheduler: MixingScheduler }).scheduler;
  const steps: number[][] = [];
  for (let step = 0; step < STEPS; step++) {
    const { tasks } = await trainer.hooks.sampleBatch.promise(
      { count: B, tasks: [], samples: [] },
      { step, round: 0, stop: () => {} },
    );
    steps.push(tasks.map((t) => rowOf.get(t.id)!));
    // what trainStep hands the scheduler: each domain's mean reward over the step's samples, in draw order
    const sums = new Map<string, { sum: number; n: number }>();
    tasks.forEach((t, i) => {
      for (let j = 0; j < G; j++) {
        const s = sums.get(t.domain) ?? { sum: 0, n: 0 };
        s.sum += reward(t.domain, step, i, j);
        s.n++;
        sums.set(t.domain, s);
      }
    });
    scheduler.observe!(
      [...sums].map(([domain, s]) => ({ domain, meanReward: s.sum / s.n, samples: s.n })),
      step,
    );
  }
  return steps;
}

/** The exported sampler, driven as verl drives it; restarts from its state_dict halfway. */
const DRIVER = `
import importlib.util, json, random, struct, sys
spec = importlib.util.spec_from_file_location("custom_module", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
plan_path, steps, B, G = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
table = json.loads(sys.argv[6])
plan = json.load(open(plan_path))
total = sum(d["size"] for d in plan["domains"])
def domain_of(row):
    return next(d["name"] for d in plan["domains"] if d["offset"] <= row < d["offset"] + d["size"])
class Scores:
    def __init__(self, v): self.v = v
    def sum(self, dim): return self
    def tolist(self): return list(self.v)
class Batch:
    def __init__(self, nt, scores): self.non_tensor_batch = nt; self.batch = {"token_level_scores": Scores(scores)}
config = {"sampler": {"plan": plan_path}, "train_batch_size": B}
sampler = mod.M2RLAdaptiveSampler(data_source=list(range(total)), data_config=config)
it = iter(sampler)
out = []
for step in range(steps):
    if step == steps // 2:  # a checkpoint and a resume, as verl's StatefulDataLoader does
        state = json.loads(json.dumps(sampler.state_dict()))
        sampler = mod.M2RLAdaptiveSampler(data_source=list(range(total)), data_config=config)
        sampler.load_state_dict(state)
        it = iter(sampler)
    rows = [next(it) for _ in range(B)]
    out.append(rows)
    samples = [(i, row, j) for i, row in enumerate(rows) for j in range(G)]
    random.Random(step).shuffle(samples)  # verl regroups a batch (balance_batch)
    nt = {"data_source": [domain_of(r) for _, r, _ in samples], "extra_info": [{"index": r} for _, r, _ in samples]}
    sampler.update(Batch(nt, [table[domain_of(r)][(step + 3 * i + j) % 4] for i, r, j in samples]))
exps = [struct.pack(">d", mod.js_exp(struct.unpack(">d", bytes.fromhex(h))[0])).hex() for h in json.loads(sys.argv[7])]
print(json.dumps({"steps": out, "len": len(sampler), "exps": exps}))
`;

function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("python3", args, { timeout: 60_000, maxBuffer: 1 << 24 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const hex = (x: number) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return [...new Uint8Array(v.buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
};

describe("m2rl export: the adaptive scheduler as a verl curriculum sampler", () => {
  it("python3 is present under CI", () => {
    if (inCi) expect(hasPython, "python3 is required under CI").toBe(true);
  });

  it.skipIf(!hasPython && !inCi)(
    "draws the same rows as M2RL's trainer on a recorded reward sequence, and resumes from its state",
    async () => {
      const plan = JSON.parse(readFileSync(join(job, "mix_plan.json"), "utf8")) as MixPlan;
      expect(plan.domains.map((d) => [d.name, d.size])).toEqual([
        ["math", 30],
        ["science", 6],
        ["ifeval", 20],
      ]);
      const db = await DuckDBInstance.create(":memory:");
      const c = await db.connect();
      const rows = (
        await c.runAndReadAll(
          `SELECT extra_info.index AS i, extra_info.task_id AS id FROM read_parquet('${join(job, "data", "train.parquet")}')`,
        )
      ).getRowObjectsJson() as { i: string; id: string }[];
      c.closeSync();
      db.closeSync();
      const rowOf = new Map(rows.map((r) => [r.id, Number(r.i)]));
      const expected = await trainerRows(rowOf);

      // V8's Math.exp on the softmax's range and beyond, against the sampler's fdlibm port
      const rng = new Rng(11);
      const xs = Array.from({ length: 3000 }, (_, k) =>
        k % 3 === 0 ? -rng.next() * 50 : (rng.next() - 0.5) * 40,
      );
      xs.push(0, 1, -1, 0.3465735902799727, 709.7, -745.2, 1e-12);
      const sampler = join(job, "m2rl_curriculum_sampler.py");
      const r = await python([
        "-c",
        DRIVER,
        sampler,
        join(job, "mix_plan.json"),
        String(STEPS),
        String(B),
        String(G),
        JSON.stringify(TABLE),
        JSON.stringify(xs.map(hex)),
      ]);
      expect(r.code, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { steps: number[][]; len: number; exps: string[] };
      expect(got.exps).toEqual(xs.map((x) => hex(Math.exp(x))));
      expect(got.len).toBe(STEPS * B);
      expect(got.steps).toEqual(expected);
      // the rewards moved the mixture: the weak domain (science) is drawn most once the averages settle
      const late = expected.slice(STEPS / 2).flat();
      const science = late.filter((row) => row >= 30 && row < 36).length;
      expect(science).toBeGreaterThan(late.length / 2);
    },
  );

  it("the launch script points verl at the sampler (dataloader workers 0, as verl requires)", () => {
    const script = readFileSync(join(job, "launch.sh"), "utf8");
    expect(script).toMatch(/"data\.sampler\.class_path=\$\{JOB_DIR\}\/m2rl_curriculum_sampler\.py"/);
    expect(script).toContain("data.sampler.class_name=M2RLAdaptiveSampler");
    expect(script).toContain("data.dataloader_num_workers=0");
    expect(script).not.toContain("data.shuffle=");
  });

  it("OpenRLHF has no sampler hook: the adaptive mix is not exported, and the manifest says why", async () => {
    const out = join(tmp, "openrlhf");
    const code = await exportCommand(experiment, {
      engine: "openrlhf",
      out,
      gpus: 1,
      nodes: 1,
      log: () => {},
    });
    expect(code).toBe(2); // nothing left to export
    const top = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(top.jobs).toEqual([]);
    expect(top.skipped.find((s: { arm: string }) => s.arm === "mix").reason).toMatch(
      /reacts to rewards; OpenRLHF v0.11.0 has no sampler hook/,
    );
  });
});
