import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CharTokenizer, initWeights, Rng, savePolicy, tinyConfig } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/main.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-analyze-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let err: string[];
beforeEach(() => {
  err = [];
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const DOMAINS = ["math", "code"];
const ARMS = ["single:math", "single:code", "mix"];

/** Tiny real policies (the built-in engine's layout): base = seeded init, arms = base + seeded task vectors. */
async function writePolicies() {
  const tokenizer = new CharTokenizer();
  const config = tinyConfig({
    vocabSize: tokenizer.vocabSize,
    hiddenSize: 16,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    eosId: 1,
    padId: 0,
  });
  const base = initWeights(config, 1, 0.2);
  const save = async (name: string, f: (w: string, i: number) => number) => {
    const weights = new Map(
      [...base].map(([n, t]) => [n, { shape: t.shape, data: t.data.map((x, i) => x + f(n, i)) }]),
    );
    const path = join(dir, name.replace(":", "_"));
    mkdirSync(path, { recursive: true });
    await savePolicy({ config, tokenizer, exportWeights: () => weights }, new NodeFileStore(path));
    return path;
  };
  const shared = new Rng(5);
  const sharedMap = new Map(
    [...base].map(([n, t]) => [n, Float32Array.from(t.data, () => shared.normal() * 0.02)]),
  );
  const paths: Record<string, string> = { base: await save("base", () => 0) };
  for (const [k, a] of ARMS.entries()) {
    const rng = new Rng(10 + k);
    paths[a] = await save(a, (n, i) => sharedMap.get(n)![i] + (rng.next() < 0.5 ? rng.normal() * 0.03 : 0));
  }
  return paths;
}

describe("m2rl analyze", () => {
  it("analyses tiny real checkpoints end to end: geometry, scores, prediction with the real engine, report files", async () => {
    const paths = await writePolicies();
    const rows = [];
    const rng = new Rng(3);
    for (const arm of ["base", ...ARMS]) {
      for (const d of DOMAINS) {
        for (let i = 0; i < 6; i++) {
          for (let s = 0; s < 2; s++) {
            const ok = rng.next() < (arm === `single:${d}` || arm === "mix" ? 0.7 : 0.3);
            rows.push({
              arm,
              domain: d,
              taskId: `${d}-${i}`,
              sampleIndex: s,
              reward: +ok,
              status: ok ? "correct" : "incorrect",
              responseLength: 5 + i,
              truncated: false,
              logprob: -(5 + i) * (ok ? 0.5 : 0.9),
            });
          }
        }
      }
    }
    writeFileSync(join(dir, "eval.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n"));
    writeFileSync(
      join(dir, "prompts.jsonl"),
      DOMAINS.flatMap((d) =>
        [0, 1].map((i) => JSON.stringify({ domain: d, taskId: `${d}-${i}`, prompt: `${d} ${i}:` })),
      ).join("\n"),
    );
    writeFileSync(
      join(dir, "mix.metrics.jsonl"),
      [0, 1, 2]
        .map((s) =>
          JSON.stringify({
            step: s,
            elapsedSeconds: s + 1,
            tokensGenerated: 100,
            tokensTrained: 200,
            rewardByDomain: { math: 0.3 + s * 0.1, code: 0.2 },
          }),
        )
        .join("\n"),
    );
    writeFileSync(
      join(dir, "options.yaml"),
      "weight-geometry:\n  projection: {dims: 32}\n  subspace: {rank: 2}\nprediction:\n  promptsPerDomain: 2\n  maxNewTokens: 4\n",
    );
    const out = join(dir, "report");
    const code = await main([
      "node",
      "m2rl",
      "analyze",
      "--base",
      `base=${paths.base}`,
      ...ARMS.flatMap((a) => ["--arm", `${a}=${paths[a]}`]),
      "--eval",
      join(dir, "eval.jsonl"),
      "--prompts",
      join(dir, "prompts.jsonl"),
      "--metrics",
      `mix=${join(dir, "mix.metrics.jsonl")}`,
      "--options",
      join(dir, "options.yaml"),
      "--out",
      out,
      "--seed",
      "4",
    ]);
    expect(err.join("")).not.toMatch(/FAILED|error:/);
    expect(code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    const names = json.results.map((r: { analysis: string }) => r.analysis);
    expect(names).toEqual(
      expect.arrayContaining([
        "scores",
        "weight-geometry",
        "prediction",
        "skill-overlap",
        "information",
        "training",
      ]),
    );
    const pred = json.results.find((r: { analysis: string }) => r.analysis === "prediction");
    expect(pred.data.cells.length).toBeGreaterThan(0);
    for (const c of pred.data.cells) {
      expect(c.klSamplerTarget).toBeGreaterThanOrEqual(0);
      expect(c.tokens).toBeGreaterThan(0);
    }
    const geo = json.results.find((r: { analysis: string }) => r.analysis === "weight-geometry");
    expect(geo.summary.parameters).toBeGreaterThan(1000);
    expect(readFileSync(join(out, "report.html"), "utf8")).toMatch(/<svg /);
    expect(readFileSync(join(out, "report.md"), "utf8")).toMatch(
      /\| domain \| base \| single:code \| single:math \| mix \|/,
    );
  });

  it("rejects a malformed --arm and a bad eval row with the file and line", async () => {
    expect(
      await main(["node", "m2rl", "analyze", "--base", dir, "--arm", "nopath", "--out", join(dir, "x")]),
    ).toBe(2);
    expect(err.join("")).toMatch(/--arm wants name=path/);
    err = [];
    const paths = await writePolicies();
    writeFileSync(
      join(dir, "bad.jsonl"),
      '{"arm":"a","domain":"m","taskId":"1","sampleIndex":0,"reward":1,"status":"ok","responseLength":3,"truncated":false}\n',
    );
    expect(
      await main([
        "node",
        "m2rl",
        "analyze",
        "--base",
        paths.base,
        "--eval",
        join(dir, "bad.jsonl"),
        "--out",
        join(dir, "y"),
      ]),
    ).toBe(1);
    expect(err.join("")).toMatch(/bad\.jsonl:1 status: field 'status' must be one of/);
  });
});
