/**
 * Data files an experiment names: `domains.<id>.<split>.file` serves that split's tasks at run time (through the
 * domain's own loader), and `m2rl validate` opens every data file and the model folder, refusing unreadable ones at
 * the key that names them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Domain } from "@m2rl/core";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { createDomains } from "../src/run/domains.ts";
import { captureOutput } from "./capture-output.ts";

const fixtures = fileURLToPath(new URL("./fixtures/data-files/", import.meta.url));
const { out, err } = captureOutput();

async function validate(name: string): Promise<{ code: number; problems: string[]; all: string }> {
  const file = join(fixtures, name);
  const code = await main(["node", "m2rl", "validate", file]);
  const all = [...out, ...err].join("");
  const problems = all
    .split("\n")
    .filter((l) => l.startsWith(`${file}:`) && !l.startsWith(`${file}: `))
    .map((l) => l.slice(file.length + 1));
  return { code, problems, all };
}

const opened: Domain[] = [];
afterAll(async () => {
  for (const d of opened) await d.close?.();
});

async function domainsOf(file: string): Promise<Map<string, Domain>> {
  const loaded = await loadExperimentFile(file);
  expect(loaded.problems.filter((p) => p.severity === "error")).toEqual([]);
  const domains = await createDomains(loaded.config!, loaded.host, loaded.baseDir);
  opened.push(...domains.values());
  return domains;
}

describe("split files serve the split's tasks", () => {
  it("eval.file: the eval tasks are the file's rows (count caps them), with the ids the rows give", async () => {
    const domains = await domainsOf(join(fixtures, "good.yaml"));
    const math = domains.get("math")!;
    const ev = await math.tasks({ split: "eval", seed: 1 });
    expect(ev.map((t) => [t.id, t.prompt, t.groundTruth])).toEqual([
      ["math-1", "What is 10 * 12?", "120"],
      ["math-2", "What is 7 squared?", "49"],
    ]);
    expect(ev.every((t) => t.domain === "math" && t.meta?.dataSource === "mine")).toBe(true);
    // same ids on every call and every seed: eval keeps the file's order
    expect((await math.tasks({ split: "eval", seed: 9 })).map((t) => t.id)).toEqual(["math-1", "math-2"]);
    expect(await math.tasks({ split: "eval", seed: 1, count: 5 })).toHaveLength(3);
    // the other split is still generated
    const train = await math.tasks({ split: "train", seed: 1 });
    expect(train).toHaveLength(20);
    expect(train[0].meta?.source).toBe("synthetic");
  });

  it("a zstd Parquet eval file with format: verl serves the science domain", async () => {
    const domains = await domainsOf(join(fixtures, "good.yaml"));
    const ev = await domains.get("science")!.tasks({ split: "eval", seed: 0 });
    expect(ev.map((t) => [t.id, t.groundTruth])).toEqual([
      ["science-1", "A"],
      ["science-2", "A"],
    ]);
    expect(ev[1].prompt).toContain("C) Tin");
  });

  it("train.file: train tasks come from the file, shuffled by the seed, the same for the same seed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m2rl-data-files-"));
    const rows = Array.from({ length: 12 }, (_, i) => ({
      prompt: `What is ${i} + 100?`,
      reward_model: { ground_truth: String(i + 100) },
    }));
    writeFileSync(join(dir, "train.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n"));
    const yaml = join(dir, "exp.yaml");
    writeFileSync(
      yaml,
      "name: t\npolicy: { builtin: tiny }\ndomains:\n  math:\n    train: { file: train.jsonl, count: 10 }\n    eval: { count: 5 }\narms:\n  base:\n",
    );
    const math = (await domainsOf(yaml)).get("math")!;
    const a = await math.tasks({ split: "train", seed: 3 });
    expect(a).toHaveLength(10);
    expect(a.every((t) => /^What is \d+ \+ 100\?$/.test(t.prompt))).toBe(true);
    expect(a.map((t) => t.id)).toEqual((await math.tasks({ split: "train", seed: 3 })).map((t) => t.id));
    expect(new Set(a.map((t) => t.id)).size).toBe(10);
    expect(a[0].id).toMatch(/^math-train-\d+$/);
  });

  it("a generated split keeps clear of the tasks the other split's file holds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m2rl-data-files-"));
    const exp = (extra: string) =>
      `name: t\nseed: 5\npolicy: { builtin: tiny }\ndomains:\n  math:\n    train: { count: 40 }\n${extra}arms:\n  base:\n`;
    writeFileSync(join(dir, "plain.yaml"), exp(""));
    const generated = await (await domainsOf(join(dir, "plain.yaml"))).get("math")!.tasks({
      split: "train",
      seed: 5,
    });
    // an eval file that holds three of the problems the generator would train on
    const leaked = [generated[0], generated[7], generated[21]];
    writeFileSync(
      join(dir, "eval.jsonl"),
      leaked
        .map((t) => JSON.stringify({ prompt: t.prompt, reward_model: { ground_truth: t.groundTruth } }))
        .join("\n"),
    );
    writeFileSync(join(dir, "with-file.yaml"), exp("    eval: { file: eval.jsonl }\n"));
    const math = (await domainsOf(join(dir, "with-file.yaml"))).get("math")!;
    const evalPrompts = new Set((await math.tasks({ split: "eval", seed: 5 })).map((t) => t.prompt));
    expect(evalPrompts).toEqual(new Set(leaked.map((t) => t.prompt)));
    const train = await math.tasks({ split: "train", seed: 5 });
    expect(train).toHaveLength(40);
    expect(train.filter((t) => evalPrompts.has(t.prompt))).toEqual([]);
  });
});

describe("m2rl validate opens the data files and the model folder", () => {
  it("readable files and a model folder with config.json and safetensors: OK", async () => {
    const r = await validate("good.yaml");
    expect(r.problems).toEqual([]);
    expect(r.code).toBe(0);
  });

  it("each unreadable file is refused at its key with the reason", async () => {
    const r = await validate("bad-files.yaml");
    const at = (p: string) => join(fixtures, p);
    expect(r.problems).toEqual([
      `3:9  policy.path  model folder ${at("model-no-weights")} has no *.safetensors file`,
      `7:19  domains.missing.eval.file  data file ${at("no-such.jsonl")}: not found`,
      `10:19  domains.folder.eval.file  data file ${at("model-ok")}: not a file (a folder)`,
      expect.stringMatching(
        /^13:20 {2}domains\.badline\.train\.file {2}data file .*bad-line\.jsonl:3: not JSON: .+/,
      ),
      `16:19  domains.nocols.eval.file  data file ${at("no-columns.parquet")}: no prompt column (prompt, question or problem); columns: text`,
      `19:19  domains.lzo.eval.file  data file ${at("lzo.parquet")}: column 'prompt' uses compression codec LZO, which is not supported (supported: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4, LZ4_RAW)`,
      `22:31  domains.optdata.options.data.train  data file ${at("no-such-train.jsonl")}: not found`,
    ]);
    expect(r.code).toBe(2);
  });

  it("a model folder without config.json", async () => {
    const r = await validate("no-config.yaml");
    expect(r.problems).toEqual([
      `3:9  policy.path  model folder ${join(fixtures, "model-no-config")} has no config.json`,
    ]);
  });

  it("a split file and options.data for the same split: refused, naming both", async () => {
    const r = await validate("both.yaml");
    expect(r.problems).toEqual([
      "7:19  domains.math.eval.file  the eval split's file is given twice: here and in options.data.eval; keep one",
    ]);
    expect(r.code).toBe(2);
  });

  it("a split file for a plugin domain whose factory takes no data files: refused, not ignored", async () => {
    const r = await validate("countdown-file.yaml");
    expect(r.problems).toEqual([
      "9:20  domains.countdown.train.file  domain 'countdown' (plugin m2rl-plugin-domain-countdown) cannot read data files: its options have no 'data' key; generate the split (count) instead",
    ]);
    expect(r.code).toBe(2);
  });
});

describe("validate stays light with data files", () => {
  it("checks a JSONL and a zstd Parquet file without loading a domain verifier, mathjs or tfjs", () => {
    const cliDir = fileURLToPath(new URL("..", import.meta.url));
    const trace = join(mkdtempSync(join(tmpdir(), "m2rl-data-files-trace-")), "trace.tsv");
    const script = `import { main } from ${JSON.stringify(pathToFileURL(join(cliDir, "src", "main.ts")).href)};
process.exitCode = await main(["node", "m2rl", "validate", ${JSON.stringify(join(fixtures, "good.yaml"))}]);`;
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
        script,
      ],
      { cwd: cliDir, env: { ...process.env, M2RL_IMPORT_TRACE: trace }, encoding: "utf8", timeout: 50_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const loaded = readFileSync(trace, "utf8")
      .split("\n")
      .map((l) => l.split("\t")[1])
      .filter(Boolean);
    // the data readers were loaded: the files were opened
    expect(loaded.some((u) => /\/verifiers\/src\/data\/check\.ts$/.test(u))).toBe(true);
    expect(loaded.some((u) => u.includes("/node_modules/hyparquet-compressors/"))).toBe(true);
    expect(
      loaded.filter(
        (u) =>
          /\/node_modules\/(mathjs|@tensorflow\/[^/]+)\//.test(u) ||
          /\/verifiers\/(src|dist)\/(math|code|science|ifeval)\/(domain|verify|equiv|evaluate)\./.test(u) ||
          /\/core\/(src|dist)\/index\./.test(u),
      ),
    ).toEqual([]);
  });
});
