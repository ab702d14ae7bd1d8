import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseIds } from "../src/commands/model.ts";
import { main } from "../src/main.ts";

// Golden checkpoints of @m2rl/core (random Qwen2 weights + float64 PyTorch reference logits).
const fixtures = new URL("../../core/test/golden/fixtures/", import.meta.url);
const dir = (name: string) => fileURLToPath(new URL(`${name}/`, fixtures));

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

describe("m2rl model logits", () => {
  it("prints the last-position logits of a golden checkpoint as JSON, matching the reference", async () => {
    const exp = JSON.parse(readFileSync(new URL("qwen2_mqa_untied/expected.json", fixtures), "utf8"));
    const seq: number[] = exp.sequences[0];
    const code = await main([
      "node",
      "m2rl",
      "model",
      "logits",
      "--model",
      dir("qwen2_mqa_untied"),
      "--ids",
      seq.join(","),
      "--json",
    ]);
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
    const code = await main([
      "node",
      "m2rl",
      "model",
      "logits",
      "--model",
      dir("qwen2_gqa_tied"),
      "--ids",
      "1, 2,3",
      "--top",
      "3",
    ]);
    expect(code).toBe(0);
    const lines = out.join("").trim().split("\n");
    expect(lines[0]).toMatch(/3 tokens, vocab 40, logits min/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^\s+\d+\s+-?\d+\.\d{6}\s+"\[\d+\]"$/);
  });

  it("fails with a clear message on a missing folder, bad ids, or ids outside the vocabulary", async () => {
    expect(await main(["node", "m2rl", "model", "logits", "--model", "/nonexistent/m", "--ids", "1"])).toBe(
      1,
    );
    expect(err.join("")).toMatch(/config\.json/);
    expect(
      await main(["node", "m2rl", "model", "logits", "--model", dir("qwen2_gqa_tied"), "--ids", "1,x"]),
    ).toBe(1);
    expect(err.join("")).toMatch(/--ids must be/);
    expect(
      await main(["node", "m2rl", "model", "logits", "--model", dir("qwen2_gqa_tied"), "--ids", "400"]),
    ).toBe(1);
    expect(err.join("")).toMatch(/token id 400 outside/);
    expect(() => parseIds("")).toThrow();
    expect(parseIds(" 4,5 ")).toEqual([4, 5]);
  });
});
