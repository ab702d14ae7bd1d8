/**
 * `m2rl export`: one small experiment (two domains, single arms, a mix, MOPD and a merge) exported for verl and for
 * OpenRLHF, then checked from the outside:
 * - every key / flag of every launch.sh is valid for the engine revision (the key lists extracted from the engines'
 *   sources by scripts/engine-keys/extract.py): a verl `key=` is in the composed config, a `+key=` is not;
 * - the Parquet files read back by DuckDB (an independent reader) with verl's column types, snappy pages, and by
 *   M2RL's own verl loader as the same prompts and ground truths;
 * - the mix's train file is the TypeScript scheduler's order for the arm's seed (domains and tasks, recomputed here
 *   from the scheduler and M2RL's Rng, not from the export's code);
 * - every M2RL trainer option is in each manifest, mapped or dropped with a reason; MOPD and merges are listed as
 *   not exported, with the reason.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { createScheduler, PluginHost, Rng, type Task } from "@m2rl/core";
import { builtinPlugins } from "@m2rl/verifiers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCommand } from "../src/export/command.ts";
import { checkLaunchScript, checkOpenRlhfWords, checkVerlWords, engineKeys } from "../src/export/keys.ts";
import { commandWords, shellVar, splitWords } from "../src/export/launch.ts";
import type { JobManifest } from "../src/export/manifest.ts";
import { exportedOptionPaths } from "../src/export/options.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { armSeed } from "../src/run/arms.ts";
import { createDomains } from "../src/run/domains.ts";

const tmp = mkdtempSync(join(tmpdir(), "m2rl-export-"));
const experiment = join(tmp, "exp.yaml");
writeFileSync(
  experiment,
  `name: export-test
seed: 7
policy: { builtin: tiny }
domains:
  math: { train: { count: 40 }, eval: { count: 8 } }
  science: { train: { count: 10 }, eval: { count: 6 } }
arms:
  single:
    trainer: { steps: 5 }
  mix: { scheduler: proportional, trainer: { steps: 10 } }
  mopd:
  merge:ties: {}
trainer:
  promptsPerStep: 6
  groupSize: 4
  sampling: { maxNewTokens: 32 }
  kl: { coef: 0.01 }
  overlong: { enabled: true, cacheLength: 8 }
  optimizer: { decay: cosine, minLr: 0.0000001, warmupSteps: 2 }
`,
);
const out = { verl: join(tmp, "verl"), openrlhf: join(tmp, "openrlhf") };
let db: DuckDBInstance;
const logs: string[] = [];

beforeAll(async () => {
  for (const engine of ["verl", "openrlhf"] as const) {
    const code = await exportCommand(experiment, {
      engine,
      out: out[engine],
      gpus: 4,
      nodes: 2,
      log: (l) => logs.push(l),
    });
    expect(code, logs.join("\n")).toBe(0);
  }
  db = await DuckDBInstance.create(":memory:");
}, 120_000);
afterAll(() => {
  db?.closeSync();
  rmSync(tmp, { recursive: true, force: true });
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
  }
}

const manifest = (engine: "verl" | "openrlhf", folder: string): JobManifest =>
  JSON.parse(readFileSync(join(out[engine], folder, "manifest.json"), "utf8"));
const JOBS = ["single-math", "single-science", "mix"];

describe("m2rl export: the job folders", () => {
  it("writes one folder per RL arm; MOPD and the merge are listed as not exported, with the reason", () => {
    for (const engine of ["verl", "openrlhf"] as const) {
      const top = JSON.parse(readFileSync(join(out[engine], "manifest.json"), "utf8"));
      expect(top.jobs.map((j: { arm: string }) => j.arm)).toEqual(["single:math", "single:science", "mix"]);
      const skipped = Object.fromEntries(
        top.skipped.map((s: { arm: string; reason: string }) => [s.arm, s.reason]),
      );
      expect(skipped.mopd).toMatch(/MOPD needs a teacher per domain/);
      expect(skipped["merge:ties"]).toMatch(/weight merge/);
      expect(top.engine.commit).toBe(engineKeys(engine).commit);
      for (const job of JOBS)
        for (const f of ["launch.sh", "manifest.json", "README.md"])
          expect(existsSync(join(out[engine], job, f)), `${engine}/${job}/${f}`).toBe(true);
    }
    expect(existsSync(join(out.verl, "single-math", "m2rl_reward.py"))).toBe(true);
    expect(existsSync(join(out.openrlhf, "mix", "m2rl_openrlhf_reward.py"))).toBe(true);
  });

  it("the key lists name the engines' commits", () => {
    const verl = engineKeys("verl");
    expect(verl.commit).toMatch(/^b178a3cd[0-9a-f]{32}$/);
    expect(verl.keys).toContain("actor_rollout_ref.rollout.n");
    expect(verl.keys).not.toContain("custom_reward_function.reward_kwargs");
    const orl = engineKeys("openrlhf");
    expect(orl.revision).toBe("v0.11.0");
    expect(orl.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(orl.flags["--rollout.n_samples_per_prompt"]).toBe(1);
    expect(orl.flags["--n_samples_per_prompt"]).toBeUndefined(); // v0.11 dropped the flat names
  });

  it("every key of every verl launch.sh is valid for verl b178a3cd (`+key` exactly for keys not in its config)", () => {
    const keys = new Set(engineKeys("verl").keys);
    let plus = 0;
    for (const job of JOBS) {
      const script = readFileSync(join(out.verl, job, "launch.sh"), "utf8");
      const { words, problems } = checkLaunchScript("verl", script);
      expect(problems, job).toEqual([]);
      expect(words.length).toBeGreaterThan(40);
      for (const w of words) {
        const key = w.slice(0, w.indexOf("="));
        if (key.startsWith("+")) {
          plus++;
          expect(keys.has(key.slice(1)), key).toBe(false);
        } else expect(keys.has(key), key).toBe(true);
      }
    }
    expect(plus).toBeGreaterThan(0); // the reward URL and the overlong buffer are `+` keys
    // the check refuses both mistakes
    expect(
      checkVerlWords(["actor_rollout_ref.rollout.nn=4", "+data.shuffle=False", "data.shuffle=False"]),
    ).toEqual([
      expect.stringMatching(/^actor_rollout_ref.rollout.nn: not a key/),
      expect.stringMatching(/^\+data.shuffle: .* without '\+'/),
    ]);
  });

  it("every flag of every OpenRLHF launch.sh is one of v0.11.0's, with its values", () => {
    for (const job of JOBS) {
      const script = readFileSync(join(out.openrlhf, job, "launch.sh"), "utf8");
      const { words, problems } = checkLaunchScript("openrlhf", script);
      expect(problems, job).toEqual([]);
      expect(words).toContain("--rollout.n_samples_per_prompt");
      expect(words[words.indexOf("--algo.advantage.estimator") + 1]).toBe("group_norm");
    }
    expect(
      checkOpenRlhfWords(["--n_samples_per_prompt", "4", "--actor.adam.betas", "0.9", "--ckpt.save_hf"]),
    ).toEqual([
      "--n_samples_per_prompt: not a flag of openrlhf/cli/train_ppo_ray.py at v0.11.0",
      "'4' is a value without a flag",
      "--actor.adam.betas takes 2 values",
    ]);
  });

  it("launch.sh maps the trainer options (verl keys and OpenRLHF flags, cluster from --gpus / --nodes)", () => {
    const verl = commandWords(
      readFileSync(join(out.verl, "mix", "launch.sh"), "utf8"),
      engineKeys("verl").launch,
    );
    for (const w of [
      "algorithm.adv_estimator=grpo",
      "trainer.total_training_steps=10",
      "data.train_batch_size=6",
      "actor_rollout_ref.rollout.n=4",
      "data.shuffle=False",
      "actor_rollout_ref.actor.use_kl_loss=True",
      "actor_rollout_ref.actor.kl_loss_coef=0.01",
      "actor_rollout_ref.actor.clip_ratio_low=0.2",
      "actor_rollout_ref.actor.clip_ratio_high=0.28",
      "actor_rollout_ref.actor.optim.lr_scheduler_type=cosine",
      "actor_rollout_ref.actor.optim.lr_warmup_steps=2",
      "data.max_response_length=32",
      "trainer.n_gpus_per_node=4",
      "trainer.nnodes=2",
      "+reward_model.reward_kwargs.overlong_buffer_cfg.len=8",
      "reward_model.reward_manager=dapo",
      `data.seed=${armSeedOf("mix")}`,
    ])
      expect(verl).toContain(w);
    const orl = commandWords(
      readFileSync(join(out.openrlhf, "mix", "launch.sh"), "utf8"),
      engineKeys("openrlhf").launch,
    );
    const after = (flag: string, n = 1) => orl.slice(orl.indexOf(flag) + 1, orl.indexOf(flag) + 1 + n);
    expect(after("--rollout.batch_size")).toEqual(["6"]);
    expect(after("--train.batch_size")).toEqual(["24"]);
    expect(after("--actor.eps_clip_low_high", 2)).toEqual(["0.2", "0.28"]);
    expect(after("--actor.num_gpus_per_node")).toEqual(["4"]);
    expect(after("--actor.num_nodes")).toEqual(["2"]);
    expect(after("--vllm.num_engines")).toEqual(["8"]);
    expect(after("--reward.overlong_buffer_len")).toEqual(["8"]);
    expect(after("--algo.kl.init_coef")).toEqual(["0.01"]);
    expect(orl).toContain("--algo.kl.use_loss");
  });

  it("every M2RL trainer and evaluation option is in each manifest: mapped to engine keys, or dropped with a reason", () => {
    for (const engine of ["verl", "openrlhf"] as const)
      for (const job of JOBS) {
        const m = manifest(engine, job);
        const covered = new Set([...m.mapping.map((x) => x.option), ...m.dropped.map((x) => x.option)]);
        expect(
          exportedOptionPaths().filter((p) => !covered.has(p)),
          `${engine}/${job}`,
        ).toEqual([]);
        for (const d of m.dropped) expect(d.reason.length, d.option).toBeGreaterThan(20);
        const script = readFileSync(join(out[engine], job, "launch.sh"), "utf8");
        for (const x of m.mapping)
          for (const key of x.engine)
            expect(script, `${engine}/${job} ${x.option}`).toContain(key.split(/[= ]/)[0]);
      }
    // what each engine cannot express, e.g. the paper's per-sample loss averaging on OpenRLHF
    const orl = manifest("openrlhf", "mix").dropped.map((d) => d.option);
    expect(orl).toEqual(expect.arrayContaining(["trainer.aggregation", "trainer.scheduler.name"]));
    expect(manifest("verl", "mix").dropped.map((d) => d.option)).not.toContain("trainer.aggregation");
  });
});

function armSeedOf(id: string): number {
  return armSeed({ seed: 7 } as Parameters<typeof armSeed>[0], id);
}

describe("m2rl export: verl Parquet", () => {
  const file = (job: string, split: string) => join(out.verl, job, "data", `${split}.parquet`);

  it("DuckDB reads it with verl's column types, snappy-compressed", async () => {
    const types = await query(`DESCRIBE SELECT * FROM read_parquet('${file("mix", "train")}')`);
    const plain = (t: unknown) => String(t).replace(/"/g, "");
    expect(Object.fromEntries(types.map((r) => [r.column_name, plain(r.column_type)]))).toEqual({
      data_source: "VARCHAR",
      prompt: "STRUCT(role VARCHAR, content VARCHAR)[]",
      ability: "VARCHAR",
      reward_model: "STRUCT(style VARCHAR, ground_truth VARCHAR)",
      extra_info: "STRUCT(index BIGINT, split VARCHAR, domain VARCHAR, task_id VARCHAR)",
    });
    const codecs = await query(
      `SELECT DISTINCT compression FROM parquet_metadata('${file("mix", "train")}')`,
    );
    expect(codecs.map((r) => r.compression)).toEqual(["SNAPPY"]);
    const rows = await query(
      `SELECT data_source, prompt, reward_model, extra_info FROM read_parquet('${file("single-math", "train")}')`,
    );
    expect(rows).toHaveLength(5 * 6);
    expect(rows[0]).toMatchObject({
      data_source: "math",
      prompt: [{ role: "user", content: expect.stringMatching(/=$/) }],
      reward_model: { style: "rule", ground_truth: expect.stringMatching(/^-?\d+$/) },
      extra_info: { index: "0", split: "train", domain: "math" },
    });
  });

  it("M2RL's own verl loader reads back the same prompts and ground truths", async () => {
    const loaded = await loadExperimentFile(experiment);
    const domains = await createDomains(loaded.config!, loaded.host, tmp);
    const expected: Task[] = [];
    for (const d of domains.values()) expected.push(...(await d.tasks({ split: "eval", seed: 0 })));
    const host = new PluginHost(builtinPlugins);
    const math = await host.registry.domains.get("math").create({ data: { eval: file("mix", "eval") } }, {});
    const back = await math.tasks({ split: "eval", seed: 0 });
    expect(back.map((t) => [t.prompt, t.groundTruth])).toEqual(
      expected.map((t) => [t.prompt, t.groundTruth]),
    );
  });

  it("the mix's train file is the TypeScript scheduler's order for the arm's seed", async () => {
    const seed = armSeedOf("mix");
    const loaded = await loadExperimentFile(experiment);
    const domains = await createDomains(loaded.config!, loaded.host, tmp);
    const tasks = new Map<string, Task[]>();
    for (const [id, d] of domains) tasks.set(id, await d.tasks({ split: "train", seed }));
    const scheduler = createScheduler(
      "proportional",
      {},
      {
        domains: [...tasks].map(([name, t]) => ({ name, size: t.length })),
        seed: Rng.derive(seed, "scheduler").nextUint32(),
        totalSteps: 10,
        promptsPerStep: 6,
      },
    );
    const cursors = new Map<string, { epoch: number; pos: number; order: number[] }>();
    const expected: [string, string][] = [];
    for (let step = 0; step < 10; step++)
      for (const d of scheduler.next(6, step)) {
        const list = tasks.get(d)!;
        let c = cursors.get(d);
        if (!c || c.pos >= list.length) {
          const epoch = c ? c.epoch + 1 : 0;
          c = { epoch, pos: 0, order: Rng.derive(seed, `data:${d}:${epoch}`).shuffle(list.map((_, i) => i)) };
          cursors.set(d, c);
        }
        expected.push([d, list[c.order[c.pos++]].id]);
      }
    const rows = await query(
      `SELECT data_source, extra_info.task_id AS task FROM read_parquet('${file("mix", "train")}') ORDER BY extra_info.index`,
    );
    expect(rows.map((r) => [r.data_source, r.task])).toEqual(expected);
    // science (10 tasks) is drawn into a second epoch: the reshuffle is part of the order
    expect(expected.filter(([d]) => d === "science").length).toBeGreaterThan(10);
  });
});

describe("m2rl export: OpenRLHF JSONL", () => {
  it("each line has the keys --data.input_key / --data.label_key name; a mixed arm's label carries the domain", () => {
    for (const job of JOBS) {
      const words = commandWords(
        readFileSync(join(out.openrlhf, job, "launch.sh"), "utf8"),
        engineKeys("openrlhf").launch,
      );
      const input = words[words.indexOf("--data.input_key") + 1];
      const label = words[words.indexOf("--data.label_key") + 1];
      for (const split of ["train", "eval"]) {
        const lines = readFileSync(join(out.openrlhf, job, "data", `${split}.jsonl`), "utf8")
          .trim()
          .split("\n");
        for (const l of lines) {
          const row = JSON.parse(l);
          expect(typeof row[input]).toBe("string");
          expect(typeof row[label]).toBe("string");
          if (job === "mix") expect(Object.keys(JSON.parse(row[label]))).toEqual(["domain", "ground_truth"]);
        }
      }
    }
    // a single-domain arm is graded through its domain's route, train and eval alike
    const math = readFileSync(join(out.openrlhf, "single-math", "data", "eval.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(math.map((l) => JSON.parse(l).datasource)).toEqual(Array(8).fill("math"));
    const words = commandWords(
      readFileSync(join(out.openrlhf, "single-math", "launch.sh"), "utf8"),
      engineKeys("openrlhf").launch,
    );
    expect(words[words.indexOf("--reward.remote_url") + 1]).toBe(
      `${shellVar("M2RL_REWARD_URL")}/reward/math`,
    );
  });
});

describe("m2rl export: command line", () => {
  it("bad input exits 2: an unknown engine, an unknown arm, a job folder that exists (without --force)", async () => {
    const quiet = () => {};
    expect(
      await exportCommand(experiment, { engine: "trl", out: join(tmp, "x"), gpus: 1, nodes: 1, log: quiet }),
    ).toBe(2);
    expect(
      await exportCommand(experiment, {
        engine: "verl",
        out: join(tmp, "x"),
        gpus: 1,
        nodes: 1,
        arm: ["single:chem"],
        log: quiet,
      }),
    ).toBe(2);
    const again = { engine: "verl", out: out.verl, gpus: 1, nodes: 1, arm: ["single:math"], log: quiet };
    expect(await exportCommand(experiment, again)).toBe(2);
    expect(existsSync(join(out.verl, "single-math", "launch.sh"))).toBe(true);
  });

  it("`m2rl export --help` loads no export code (the lazy command)", () => {
    const cliDir = fileURLToPath(new URL("..", import.meta.url));
    const trace = join(tmp, "trace.tsv");
    const main = pathToFileURL(join(cliDir, "src", "main.ts")).href;
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        fileURLToPath(new URL("./import-trace/register.mjs", import.meta.url)),
        "--conditions=m2rl-source",
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(["node", "m2rl", "export", "--help"]);`,
      ],
      { cwd: cliDir, env: { ...process.env, M2RL_IMPORT_TRACE: trace }, encoding: "utf8", timeout: 50_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/--engine <name>/);
    const loaded = readFileSync(trace, "utf8")
      .split("\n")
      .map((l) => l.split("\t")[1] ?? "");
    expect(loaded.some((u) => u.endsWith("/commands/export.ts"))).toBe(true);
    expect(loaded.filter((u) => /\/(export\/[a-z-]+|commands\/export-impl)\.ts$/.test(u))).toEqual([]);
  });

  it("shell words survive the quoting launch.sh uses", () => {
    const x = shellVar("X");
    expect(splitWords(`a 'b c' "d \\"e\\" ${x}" f\\ g`)).toEqual(["a", "b c", `d "e" ${x}`, "f g"]);
  });
});
