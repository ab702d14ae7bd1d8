import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CausalLM, CharTokenizer, savePolicy, tinyConfig } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { describe, expect, it } from "vitest";
import { parseIds } from "../src/commands/model.ts";
import { main } from "../src/main.ts";
import { captureOutput } from "./capture-output.ts";

// Golden checkpoints of @m2rl/core (random Qwen2 weights + float64 PyTorch reference logits).
const fixtures = new URL("../../core/test/golden/fixtures/", import.meta.url);
const dir = (name: string) => fileURLToPath(new URL(`${name}/`, fixtures));

const { out, err } = captureOutput();
/** Runs `m2rl <args>` in-process; resolves to the exit code. */
const m2rl = (...args: string[]) => main(["node", "m2rl", ...args]);

describe("m2rl model logits", () => {
  it("prints the last-position logits of a golden checkpoint as JSON, matching the reference", async () => {
    const exp = JSON.parse(readFileSync(new URL("qwen2_mqa_untied/expected.json", fixtures), "utf8"));
    const seq: number[] = exp.sequences[0];
    const code = await m2rl(
      "model",
      "logits",
      "--model",
      dir("qwen2_mqa_untied"),
      "--ids",
      seq.join(","),
      "--json",
    );
    expect(err.join("")).not.toMatch(/error/);
    expect(code).toBe(0);
    const r = JSON.parse(out.join(""));
    const ref: number[] = exp.logits[0][seq.length - 1];
    expect(r.ids).toEqual(seq);
    expect(r.vocab_size).toBe(ref.length);
    const scale = Math.max(...ref.map(Math.abs));
    r.logits.forEach((l: number, i: number) => {
      expect(Math.abs(l - ref[i])).toBeLessThan(1e-4 * scale);
    });
    expect(r.top[0].logit).toBe(Math.max(...r.logits));
    expect(typeof r.backend).toBe("string");
  });

  it("prints a readable top-k table", async () => {
    const code = await m2rl(
      "model",
      "logits",
      "--model",
      dir("qwen2_gqa_tied"),
      "--ids",
      "1, 2,3",
      "--top",
      "3",
    );
    expect(code).toBe(0);
    const lines = out.join("").trim().split("\n");
    expect(lines[0]).toMatch(/3 tokens, vocab 40, logits min/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^\s+\d+\s+-?\d+\.\d{6}\s+"\[\d+\]"$/);
  });

  it("fails with a clear message on a missing folder, bad ids, or ids outside the vocabulary", async () => {
    expect(await m2rl("model", "logits", "--model", "/nonexistent/m", "--ids", "1")).toBe(1);
    expect(err.join("")).toMatch(/config\.json/);
    expect(await m2rl("model", "logits", "--model", dir("qwen2_gqa_tied"), "--ids", "1,x")).toBe(1);
    expect(err.join("")).toMatch(/--ids must be/);
    expect(await m2rl("model", "logits", "--model", dir("qwen2_gqa_tied"), "--ids", "400")).toBe(1);
    expect(err.join("")).toMatch(/token id 400 outside/);
    expect(() => parseIds("")).toThrow();
    expect(parseIds(" 4,5 ")).toEqual([4, 5]);
  });
});

describe("non-finite weights", () => {
  /** A saved tiny policy whose `model.norm.weight` gets `value` at index 3. */
  async function broken(value: number): Promise<string> {
    const tok = new CharTokenizer();
    const model = new CausalLM(
      tinyConfig({
        vocabSize: tok.vocabSize,
        eosId: tok.eosId,
        hiddenSize: 16,
        layers: 1,
        heads: 2,
        kvHeads: 1,
      }),
      tok,
      { seed: 1 },
    );
    const w = model.exportWeights().get("model.norm.weight")!;
    const data = Float32Array.from(w.data);
    data[3] = value;
    model.setWeight("model.norm.weight", data);
    const folder = mkdtempSync(join(tmpdir(), "m2rl-nonfinite-"));
    await savePolicy(model, new NodeFileStore(folder));
    model.dispose();
    return folder;
  }

  it("a NaN weight fails the load naming the file, tensor and index; --allow-nonfinite loads it", async () => {
    const folder = await broken(Number.NaN);
    try {
      expect(await m2rl("model", "logits", "--model", folder, "--ids", "5,6")).toBe(1);
      expect(err.join("")).toMatch(
        /model\.safetensors model\.norm\.weight: non-finite weight NaN at flat index 3/,
      );
      expect(
        await m2rl("model", "logits", "--model", folder, "--ids", "5,6", "--allow-nonfinite", "--json"),
      ).toBe(0);
      expect(
        JSON.parse(out.join("").trim().split("\n").pop()!).logits.some((l: number | null) => l === null),
      ).toBe(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("finite weights that overflow the forward pass fail instead of printing non-finite logits", async () => {
    const folder = await broken(3e38);
    try {
      expect(await m2rl("model", "logits", "--model", folder, "--ids", "5,6")).toBe(1);
      expect(err.join("")).toMatch(/the forward pass overflowed/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("m2rl model generate", () => {
  it("samples from a saved tiny policy, seeded, equal to Policy.generate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m2rl-model-"));
    try {
      const tok = new CharTokenizer();
      const policy = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, {
        seed: 5,
        initStd: 0.3,
      });
      await savePolicy(policy, new NodeFileStore(dir));
      const [ref] = await policy.generate([tok.encode("2+2=")], {
        temperature: 1,
        topP: 0.9,
        maxNewTokens: 8,
        seed: 3,
      });
      policy.dispose();
      const generate = (...args: string[]) => m2rl("model", "generate", "--model", dir, ...args);
      const sampling = ["--temperature", "1", "--top-p", "0.9", "--max-new-tokens", "8", "--seed", "3"];
      expect(await generate("--prompt", "2+2=", ...sampling, "--json")).toBe(0);
      const g = JSON.parse(out.join(""));
      expect(g.ids).toEqual(ref.ids);
      expect(g.text).toBe(ref.text);
      out.length = 0;
      expect(await generate("--prompt", "x", "--max-new-tokens", "3")).toBe(0);
      expect(out.join("")).toMatch(/\[\d tokens?, finish: (length|eos)\]/);
      expect(await generate("--prompt", "x", "--chat")).toBe(1);
      expect(err.join("")).toMatch(/chat template/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
