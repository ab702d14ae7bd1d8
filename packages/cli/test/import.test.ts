/**
 * Import (issue #19): arms trained on verl / OpenRLHF come back as Hugging Face folders and generation dumps, and
 * `m2rl run` merges, scores, analyses and reports them without training anything.
 *
 * The folders are written as verl's converter writes them (`python -m verl.model_merger merge --backend fsdp`:
 * `save_pretrained` of bf16 weights with the HF tensor names, config.json with architectures Qwen2ForCausalLM and
 * torch_dtype bfloat16, the tokenizer's files (here a character-level tokenizer.json in the Hugging Face tokenizers
 * format), generation_config.json): a tiny Qwen2-layout SFT base and two
 * experts whose weights differ from it (one sharded with an index). The generations are verl's validation dump
 * (`RayPPOTrainer._dump_generations`, verl/trainer/ppo/ray_trainer.py at b178a3cd: keys input, output, gts, score,
 * step + the reward's extra keys; samples of a prompt consecutive).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CausalLM,
  CharTokenizer,
  type EvalRow,
  initBackend,
  loadPolicy,
  savePolicy,
  type Task,
  tinyConfig,
} from "@m2rl/core";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presetFile } from "../src/commands/run.ts";
import { main } from "../src/main.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { createDomains } from "../src/run/domains.ts";
import { EvalTaskIndex, readGenerationsFile } from "../src/run/imported/generations.ts";
import { importedFingerprint } from "../src/run/imported/index.ts";
import { planExperiment } from "../src/run/plan.ts";
import { armHash } from "../src/run/runner.ts";
import { captureOutput } from "./capture-output.ts";

const { out, err } = captureOutput();
const dir = mkdtempSync(join(tmpdir(), "m2rl-import-"));
afterAll(() =>
  process.env.KEEP_IMPORT_DIR ? console.log(dir) : rmSync(dir, { recursive: true, force: true }),
);

const TENSOR = "model.layers.0.mlp.down_proj.weight";
const tok = new CharTokenizer();

/** A Hugging Face folder as verl's model_merger writes it: bf16 safetensors, config, tokenizer files. */
async function writeHfFolder(
  folder: string,
  weights: Map<string, { data: Float32Array; shape: number[] }>,
  config: ReturnType<typeof tinyConfig>,
  shards = false,
): Promise<void> {
  mkdirSync(folder, { recursive: true });
  await savePolicy({ config, tokenizer: tok, exportWeights: () => weights }, new NodeFileStore(folder), {
    dtype: "BF16",
    ...(shards ? { maxShardBytes: 1500 } : {}),
  });
  const cfg = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
  writeFileSync(
    join(folder, "config.json"),
    JSON.stringify({ ...cfg, architectures: ["Qwen2ForCausalLM"], torch_dtype: "bfloat16" }, null, 2),
  );
  writeFileSync(
    join(folder, "generation_config.json"),
    JSON.stringify({ eos_token_id: config.eos_token_id }),
  );
}

const config = tinyConfig({
  vocabSize: tok.vocabSize,
  hiddenSize: 8,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  intermediateSize: 16,
  eosId: tok.eosId,
  padId: tok.padId,
});

const experiment = (name: string, extra: string) => `name: ${name}
plugins: [./no-training.js]
policy: { path: verl/sft-hf }
domains:
  math: { eval: { file: data/math-eval.jsonl } }
  science: { eval: { file: data/science-eval.jsonl } }
arms:
  base:
    generations: { file: verl/math-val/0.jsonl }
  single:
    checkpoints: { math: verl/math-hf, science: verl/science-hf }
    generations:
      math: { file: verl/math-val/40.jsonl, format: verl }
  mix:
    checkpoint: verl/mix-hf
    generations: { file: openrlhf/mix-generations.jsonl }
  merge:task_arithmetic:
    parameters: { weight: 1.0, lambda: 1.0 }
evaluation: { samples: 2, temperature: 1.0, passAtK: [1, 2], maxTokens: 6${extra} }
`;

/** Counts every RL trainer the run creates (the host's trainer hook fires once per trained arm). */
const NO_TRAINING = `export default {
  name: "trainer-watch",
  apply(host) {
    host.hooks.trainer.tap("trainer-watch", (_trainer, arm) => {
      (globalThis.__m2rlTrainedArms ??= []).push(arm.id);
    });
  },
};
`;

let mathTasks: Task[] = [];

beforeAll(async () => {
  await initBackend({ log: null });
  const base = new CausalLM(config, tok, { seed: 0 });
  const w = base.exportWeights();
  base.dispose();
  const shifted = (k: number) =>
    new Map(
      [...w].map(([n, t]) => [
        n,
        { shape: t.shape, data: t.data.map((x, i) => x + 0.01 * Math.sin(i * (k + 1) + k)) },
      ]),
    );
  await writeHfFolder(join(dir, "verl", "sft-hf"), w, config);
  await writeHfFolder(join(dir, "verl", "math-hf"), shifted(1), config, true);
  await writeHfFolder(join(dir, "verl", "science-hf"), shifted(2), config);
  await writeHfFolder(join(dir, "verl", "mix-hf"), shifted(3), config);
  // a model of another size: refused as an imported arm of this policy
  const wide = tinyConfig({
    vocabSize: tok.vocabSize,
    hiddenSize: 16,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    intermediateSize: 16,
    eosId: tok.eosId,
    padId: tok.padId,
  });
  const other = new CausalLM(wide, tok, { seed: 1 });
  await writeHfFolder(join(dir, "verl", "wide-hf"), other.exportWeights(), wide);
  other.dispose();

  mkdirSync(join(dir, "data"), { recursive: true });
  const jsonl = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
  writeFileSync(
    join(dir, "data", "math-eval.jsonl"),
    jsonl([
      { prompt: "What is 2+3?", ground_truth: "5" },
      { prompt: "What is 7+8?", ground_truth: "15" },
    ]),
  );
  writeFileSync(
    join(dir, "data", "science-eval.jsonl"),
    jsonl([
      { prompt: "A force of 2 N and one of 3 N act along a line. Total force in N?", ground_truth: "5" },
    ]),
  );
  writeFileSync(join(dir, "no-training.js"), NO_TRAINING);
  writeFileSync(join(dir, "exp.yaml"), experiment("imported", ", maxParameters: 100000000"));

  // The eval tasks as M2RL hands them out (m2rl export writes these prompts into verl's Parquet).
  writeFileSync(
    join(dir, "tasks.yaml"),
    "name: tasks\npolicy: { path: verl/sft-hf }\ndomains:\n  math: { eval: { file: data/math-eval.jsonl } }\narms: { base: }\n",
  );
  const loaded = await loadExperimentFile(join(dir, "tasks.yaml"));
  expect(loaded.problems.filter((p) => p.severity === "error")).toEqual([]);
  const domains = await createDomains(loaded.config!, loaded.host, loaded.baseDir);
  mathTasks = await domains.get("math")!.tasks({ split: "eval", seed: 0 });
  expect(mathTasks.map((t) => t.groundTruth)).toEqual(["5", "15"]);

  // verl's validation dump of single:math at step 40: input is the chat-templated prompt decoded without its
  // special tokens, val_kwargs.n = 2 samples per prompt, interleaved.
  const chat = (p: string) => `system\nYou are a helpful assistant.\nuser\n${p}\nassistant\n`;
  const line = (t: Task, output: string, score: number) => ({
    input: chat(t.prompt),
    output,
    gts: t.groundTruth,
    score,
    step: 40,
    reward: score,
  });
  mkdirSync(join(dir, "verl", "math-val"), { recursive: true });
  writeFileSync(
    join(dir, "verl", "math-val", "40.jsonl"),
    `${[
      line(mathTasks[0], "2 plus 3 is \\boxed{5}.", 1),
      line(mathTasks[0], "\\boxed{6}", 0),
      line(mathTasks[1], "7+8 = 15, so \\boxed{15}", 1),
      line(mathTasks[1], "The answer is \\boxed{15}.", 0), // verl's reward disagrees: M2RL's verifier decides
    ]
      .map((r) => JSON.stringify(r))
      .join("\n")}\n`,
  );
  // verl's step-0 dump (trainer.val_before_train): the base policy's generations, format left to detection
  writeFileSync(
    join(dir, "verl", "math-val", "0.jsonl"),
    jsonl([
      line(mathTasks[0], "\\boxed{4}", 0),
      line(mathTasks[0], "5, so \\boxed{5}", 1),
      line(mathTasks[1], "\\boxed{14}", 0),
      line(mathTasks[1], "fifteen", 0),
    ]),
  );
  // The mix's generations as plain JSONL (e.g. written from OpenRLHF's or vLLM's outputs): domain per line, one line
  // on a prompt that is not one of the experiment's eval tasks.
  mkdirSync(join(dir, "openrlhf"), { recursive: true });
  writeFileSync(
    join(dir, "openrlhf", "mix-generations.jsonl"),
    jsonl([
      { prompt: mathTasks[1].prompt, response: "\\boxed{15}", ground_truth: "15", domain: "math" },
      {
        prompt: "A force of 2 N and one of 3 N act along a line. Total force in N?",
        response: "4 N",
        ground_truth: "5",
        data_source: "science",
      },
      {
        prompt: "What is 1+1?",
        response: "\\boxed{2}",
        ground_truth: "2",
        domain: "math",
        task_id: "extra-1",
      },
    ]),
  );
});

function readEval(runDir: string, arm: string): { rows: EvalRow[]; evaluation?: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(runDir, "arms", arm, "eval.json"), "utf8"));
}

describe("m2rl run on imported arms", () => {
  it("merges the imported experts, scores the imported generations, reports, and trains nothing", async () => {
    (globalThis as { __m2rlTrainedArms?: string[] }).__m2rlTrainedArms = [];
    const runDir = join(dir, "runs", "imported");
    const code = await main(["node", "m2rl", "run", join(dir, "exp.yaml")]);
    const log = err.join("") + out.join("");
    expect(code, log).toBe(0);
    expect(log).toContain("single:math: imported verl/math-hf");
    expect(log).toContain("single:math: scored 4 imported samples (verl; 4 on this experiment's eval tasks)");

    // Nothing trained: no trainer was created, no arm has training metrics, no arm spent training compute.
    expect((globalThis as { __m2rlTrainedArms?: string[] }).__m2rlTrainedArms).toEqual([]);
    const arms = readdirSync(join(runDir, "arms")).sort();
    expect(arms).toEqual(["base", "merge-task_arithmetic", "mix", "single-math", "single-science"]);
    for (const a of arms) {
      expect(existsSync(join(runDir, "arms", a, "metrics.jsonl")), a).toBe(false);
      const rec = JSON.parse(readFileSync(join(runDir, "arms", a, "arm.json"), "utf8"));
      expect([rec.tokensTrained, rec.flops, rec.tokensGenerated], a).toEqual([0, 0, 0]);
    }

    // The merge arm is base + Σ task vectors (task arithmetic, weight 1, λ 1), by hand on one tensor.
    const read = async (folder: string) => {
      const c = await openCheckpoint(folder);
      try {
        return await c.readFloat32(TENSOR);
      } finally {
        await c.close();
      }
    };
    const [b, m, s, merged] = await Promise.all([
      read(join(dir, "verl", "sft-hf")),
      read(join(dir, "verl", "math-hf")),
      read(join(dir, "verl", "science-hf")),
      read(join(runDir, "arms", "merge-task_arithmetic", "checkpoint")),
    ]);
    expect(m).not.toEqual(b);
    expect(s).not.toEqual(m);
    for (let i = 0; i < b.length; i++) expect(merged[i]).toBeCloseTo(b[i] + (m[i] - b[i]) + (s[i] - b[i]), 6);
    // the merged folder loads as a policy (config and tokenizer came along)
    (
      await loadPolicy(new NodeFileStore(join(runDir, "arms", "merge-task_arithmetic", "checkpoint")))
    ).dispose();

    // Imported generations scored with M2RL's verifiers, row by row, on the experiment's eval tasks.
    const math = readEval(runDir, "single-math");
    expect(math.evaluation).toMatchObject({ source: "imported", format: "verl", samples: 4, matched: 4 });
    expect(
      math.rows.map((r) => [r.domain, r.taskId, r.sampleIndex, r.reward, r.status, r.engineScore]),
    ).toEqual([
      ["math", mathTasks[0].id, 0, 1, "correct", 1],
      ["math", mathTasks[0].id, 1, 0, "incorrect", 0],
      ["math", mathTasks[1].id, 0, 1, "correct", 1],
      ["math", mathTasks[1].id, 1, 1, "correct", 0],
    ]);
    expect(math.rows[0].prompt).toBe(mathTasks[0].prompt);
    expect(math.rows.every((r) => r.responseLength > 0 && r.truncated === false)).toBe(true);
    const mix = readEval(runDir, "mix");
    expect(mix.evaluation).toMatchObject({ source: "imported", format: "jsonl", samples: 3, matched: 2 });
    expect(mix.rows.map((r) => [r.domain, r.taskId, r.sampleIndex, r.reward, r.status])).toEqual([
      ["math", mathTasks[1].id, 0, 1, "correct"],
      ["science", expect.stringMatching(/^science-/), 0, 0, "incorrect"],
      ["math", "extra-1", 0, 1, "correct"],
    ]);
    const base = readEval(runDir, "base");
    expect(base.evaluation).toMatchObject({ source: "imported", format: "verl", samples: 4, matched: 4 });
    expect(base.rows.map((r) => r.status)).toEqual(["incorrect", "correct", "incorrect", "unparsable"]);
    // The other arms were small enough: generated here on the same eval tasks (no `evaluation` entry).
    for (const a of ["single-science", "merge-task_arithmetic"]) {
      const ev = readEval(runDir, a);
      expect(ev.evaluation, a).toBeUndefined();
      expect(new Set(ev.rows.filter((r) => r.domain === "math").map((r) => r.taskId))).toEqual(
        new Set(mathTasks.map((t) => t.id)),
      );
    }

    // The report: the arms, where each score came from, the score tables with CIs, the weight-only analysis.
    const md = readFileSync(join(runDir, "report.md"), "utf8");
    expect(md).toContain("single:math ← verl/math-hf; single:science ← verl/science-hf; mix ← verl/mix-hf");
    expect(md).toContain("nothing (no arm was trained by M2RL)");
    expect(md).toMatch(/evaluated here[^\n]*single:science; merge:task_arithmetic \(models up to/);
    expect(md).toMatch(
      /scored from imported generations[^\n]*base \(verl: verl\/math-val\/0\.jsonl; 4 samples/,
    );
    expect(md).toMatch(
      /scored from imported generations[^\n]*single:math \(verl: verl\/math-val\/40\.jsonl; 4 samples, 4 on this experiment's eval tasks; verdicts agree with the engine's reward on 3\/4\)/,
    );
    expect(md).toMatch(/not evaluated[^\n]*none/);
    const report = JSON.parse(readFileSync(join(runDir, "report.json"), "utf8")) as {
      results: { analysis: string; tables: { title: string; columns: string[]; rows: unknown[][] }[] }[];
      failed: unknown[];
    };
    expect(report.failed).toEqual([]);
    const scores = report.results.find((r) => r.analysis === "scores")!;
    const avg = scores.tables.find((t) => t.title.startsWith("Avg@K"))!;
    expect(avg.columns.slice(1, 3)).toEqual(["base", "single:math"]);
    expect(avg.rows.find((r) => r[0] === "math")![1]).toMatch(/^25\.0 \[/); // base: 1 of 4, with its CI
    expect(avg.rows.find((r) => r[0] === "math")![2]).toMatch(/^75\.0 \[/); // single:math: 3 of 4
    // paired on the same tasks: single:math − base on math
    const delta = scores.tables.find((t) => t.title.startsWith("Δ vs base"))!;
    expect(delta.rows.find((r) => r[0] === "math")![2]).toMatch(/^\+50\.0 \[/);
    expect(report.results.map((r) => r.analysis)).toEqual(
      expect.arrayContaining(["weight-geometry", "prediction"]),
    );

    // A second run is all cached (the imported folders and files did not change).
    err.length = 0;
    expect(await main(["node", "m2rl", "run", join(dir, "exp.yaml")])).toBe(0);
    expect(err.join("")).toContain("nothing to do: every arm is cached");
  }, 300_000);

  it("above evaluation.maxParameters an arm is scored from its generations or not evaluated, and the report says why", async () => {
    writeFileSync(join(dir, "small.yaml"), experiment("small", ", maxParameters: 100"));
    const runDir = join(dir, "runs", "small");
    expect(await main(["node", "m2rl", "run", join(dir, "small.yaml")]), err.join("")).toBe(0);
    for (const a of ["single-science", "merge-task_arithmetic"]) {
      const ev = readEval(runDir, a);
      expect(ev.rows).toEqual([]);
      expect(ev.evaluation).toMatchObject({ source: "skipped" });
    }
    expect(readEval(runDir, "single-math").rows).toHaveLength(4);
    const md = readFileSync(join(runDir, "report.md"), "utf8");
    expect(md).toMatch(/evaluated here[^\n]*none \(models up to evaluation\.maxParameters = 100\)/);
    expect(md).toMatch(
      /not evaluated[^\n]*single:science \(1\.\dk parameters > evaluation\.maxParameters 100, and no imported generations\); merge:task_arithmetic \(/,
    );
    const report = JSON.parse(readFileSync(join(runDir, "report.json"), "utf8")) as {
      results: { analysis: string }[];
      skipped: { analysis: string; reason: string }[];
    };
    // weight-only analyses still run; the prediction analyses (they run the policies) do not
    expect(report.results.map((r) => r.analysis)).toContain("weight-geometry");
    expect(report.skipped.map((s) => s.analysis)).toContain("prediction");
  }, 300_000);
});

describe("m2rl run --dry-run on imported arms", () => {
  it("lists them as imported, with no training compute", async () => {
    expect(
      await main(["node", "m2rl", "run", join(dir, "exp.yaml"), "--dry-run", "--out", join(dir, "dry")]),
    ).toBe(0);
    const text = err.join("") + out.join("");
    expect(text).toMatch(/single:math +to run +imported checkpoint verl\/math-hf +← base\n/);
    expect(text).toMatch(/mix +to run +imported checkpoint verl\/mix-hf +← base\n/);
    expect(text).toContain("estimated training compute: 0.00 FLOP");
  });
});

describe("m2rl run --seeds on imports", () => {
  it("refuses several seeds: the imports are one run elsewhere", async () => {
    const code = await main([
      "node",
      "m2rl",
      "run",
      join(dir, "exp.yaml"),
      "--seeds",
      "0,1",
      "--out",
      join(dir, "seeds"),
    ]);
    expect(code).toBe(1);
    expect(err.join("")).toContain(
      "error: --seeds 0,1: imported checkpoints and generations come from one run elsewhere",
    );
    expect(existsSync(join(dir, "seeds", "seed-0"))).toBe(false);
  });
});

describe("m2rl validate on imports", () => {
  it("accepts the experiment", async () => {
    expect(await main(["node", "m2rl", "validate", join(dir, "exp.yaml")]), err.join("")).toBe(0);
  });

  it("refuses a missing folder, another architecture, a missing or unreadable generations file (exit 2)", async () => {
    writeFileSync(
      join(dir, "verl", "bad.jsonl"),
      '{"input": "x", "output": "y", "gts": "1"}\n{"input": "x", "output": 3, "gts": "1"}\n',
    );
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      `name: bad
policy: { path: verl/sft-hf }
domains:
  math: { eval: { file: data/math-eval.jsonl } }
  science: { eval: { file: data/science-eval.jsonl } }
arms:
  single:math: { checkpoint: verl/nope-hf, generations: { file: verl/nope.jsonl } }
  single:science:
    checkpoint: verl/wide-hf
  mix:
    checkpoint: verl/math-hf
    generations: { file: [verl/math-val/40.jsonl, verl/bad.jsonl] }
`,
    );
    expect(await main(["node", "m2rl", "validate", file])).toBe(2);
    const lines = err
      .join("")
      .split("\n")
      .filter((l) => l.startsWith("bad.yaml") || l.includes("bad.yaml:"));
    const at = (l: string) => l.replace(`${dir}/`, "");
    expect(lines.map(at)).toEqual([
      expect.stringMatching(
        /^bad\.yaml:7:30 {2}arms\.single:math\.checkpoint {2}imported checkpoint: model folder not found: .*verl\/nope-hf$/,
      ),
      expect.stringMatching(
        /bad\.yaml:7:65 {2}arms\.single:math\.generations\.file {2}generations file not found: verl\/nope\.jsonl$/,
      ),
      expect.stringMatching(
        /bad\.yaml:9:17 {2}arms\.single:science\.checkpoint {2}imported checkpoint verl\/wide-hf is not a fine-tune of the policy: config\.json does not describe the policy's architecture \(policy\.path\): hidden_size 16 \(policy: 8\)/,
      ),
      "bad.yaml:12:51  arms.mix.generations.file[1]  verl/bad.jsonl:2: 'output' must be a string (got 3) (verl format, from the first line)",
      expect.stringMatching(/bad\.yaml: 4 problems$/),
    ]);
  });
});

describe("imported generations, line by line", () => {
  it("reads verl's dump and plain JSONL, detects the format, and places lines on eval tasks", async () => {
    writeFileSync(
      join(dir, "plain.jsonl"),
      `${JSON.stringify({ prompt: [{ role: "user", content: "What is 7+8?" }], response: "15", reward_model: { ground_truth: "15" }, sample_index: 3 })}\n${JSON.stringify({ prompt: "Unseen: 1+1?", response: "2", ground_truth: "2", domain: "math", task_id: "q-9" })}\n`,
    );
    const plain = await readGenerationsFile("plain.jsonl", dir);
    expect(plain.map((l) => [l.format, l.prompt, l.groundTruth, l.sampleIndex, l.taskId, l.domain])).toEqual([
      ["jsonl", "What is 7+8?", "15", 3, undefined, undefined],
      ["jsonl", "Unseen: 1+1?", "2", undefined, "q-9", "math"],
    ]);
    const index = new EvalTaskIndex(new Map([["math", mathTasks]]));
    expect(index.find(plain[0])?.id).toBe(mathTasks[1].id);
    expect(index.find(plain[1])).toBeUndefined();
    const verl = await readGenerationsFile("verl/math-val/40.jsonl", dir);
    expect(verl.map((l) => [l.format, l.engineScore, l.step])[0]).toEqual(["verl", 1, 40]);
    // a chat-templated prompt with its special tokens matches too
    expect(
      index.find({
        ...verl[0],
        prompt: `<|im_start|>user\n${mathTasks[0].prompt}<|im_end|>\n<|im_start|>assistant\n`,
      })?.id,
    ).toBe(mathTasks[0].id);
    await expect(readGenerationsFile("data/math-eval.jsonl", dir)).rejects.toThrow(
      /data\/math-eval\.jsonl:1: neither verl's validation dump \(input, output, gts\) nor JSONL of prompt \/ response \/ ground truth; keys: prompt, ground_truth/,
    );
  });
});

describe("arm hashes", () => {
  // Cache layout 3 (arms hash their resolved options): the built-in presets' cache keys. A change here makes every
  // user's cached run recompute: make it on purpose (bump CACHE_VERSION), never as a side effect.
  const PINNED: Record<string, Record<string, string>> = {
    smoke: {
      base: "454a996706cde78e",
      sft: "ac5ce9bccca45869",
      "single:math": "0bb5c84f219d744e",
      "single:code": "43c733319f8e7d98",
      "single:science": "b70218851c76fd22",
      "single:ifeval": "db7a8d0c526875e1",
      mix: "8025607a6e9da646",
      "merge:linear": "79b139182e33ce27",
      "merge:task_arithmetic": "86887512fe0a6682",
      "merge:dare_linear": "c1aa5c999b6e6259",
      "merge:ties": "3e86689847b5024f",
      "merge:dare_ties": "9f2cf677eb283e50",
      "merge:sce": "c7bbb120404704e1",
      "merge:ties-math-code": "177c5b41a22255f6",
      mopd: "31e8267d5bf585c9",
    },
    default: {
      base: "b786662490463eec",
      sft: "95379392eaec685e",
      "single:math": "a834a61d0ba5a8d6",
      "single:code": "fcc43c7372d17cb5",
      "single:science": "9c94ecd3e80681be",
      "single:ifeval": "b920a8c8831846d4",
      mix: "090c22e9868b2d4e",
      "merge:linear": "0fc07eca94f701f3",
      "merge:task_arithmetic": "a63c8e8fef0ddf49",
      "merge:dare_linear": "c2879fca2055072d",
      "merge:ties": "74a0279c31579757",
      "merge:dare_ties": "a3e19a725d1fd8c4",
      "merge:sce": "448f82c0e5e3c31c",
      "merge:ties-math-code": "78c05b3ffabada4f",
      "merge:ties-math-science": "70c513fa4321112f",
      "merge:ties-math-ifeval": "803a9f6a1570bf01",
      mopd: "264bf4f98297d0b5",
    },
  };
  for (const [preset, pinned] of Object.entries(PINNED))
    it(`${preset}: every arm hashes as pinned (imports change no other arm)`, async () => {
      const c = (await loadExperimentFile(presetFile(preset))).config!;
      const h: Record<string, string> = {};
      for (const n of planExperiment(c).nodes)
        h[n.id] = armHash(
          n,
          c,
          n.deps.map((d) => h[d]),
          await importedFingerprint(n.arm, dir),
        );
      expect(h).toEqual(pinned);
    });

  it("an imported arm's hash follows its folder and its generation files", async () => {
    const c = (await loadExperimentFile(join(dir, "exp.yaml"))).config!;
    const node = planExperiment(c).nodes.find((n) => n.id === "single:math")!;
    const hash = async () => armHash(node, c, ["x"], await importedFingerprint(node.arm, dir));
    const before = await hash();
    expect(await hash()).toBe(before);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, "verl", "math-val", "40.jsonl"), later, later);
    const afterDump = await hash();
    expect(afterDump).not.toBe(before);
    utimesSync(join(dir, "verl", "math-hf", "config.json"), later, later);
    expect(await hash()).not.toBe(afterDump);
  });
});
