/**
 * The rewards of exported jobs, for real: `m2rl serve` runs (as `m2rl serve` starts it), and python3 runs the files
 * the job folders hold, with rows read from the exported data:
 * - verl's m2rl_reward.py (standard library only), called as verl calls compute_score: a correct sample scores 1,
 *   a wrong one 0, an unknown data_source raises;
 * - OpenRLHF: a single-domain arm's --reward.remote_url route, and a mixed arm's reward_func, which posts each item
 *   with the domain its label carries.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRows } from "@m2rl/verifiers/data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServe, startServe } from "../src/commands/serve.ts";
import { exportCommand } from "../src/export/command.ts";
import { engineKeys } from "../src/export/keys.ts";
import { commandWords } from "../src/export/launch.ts";

const hasPython = spawnSync("python3", ["--version"]).status === 0;
const inCi = !!process.env.CI && process.env.CI !== "false";

const tmp = mkdtempSync(join(tmpdir(), "m2rl-export-reward-"));
const experiment = join(tmp, "exp.yaml");
writeFileSync(
  experiment,
  `name: reward-export
seed: 1
policy: { builtin: tiny }
domains:
  math: { train: { count: 12 }, eval: { count: 3 } }
  science: { options: { relTolerance: 0 }, train: { count: 12 }, eval: { count: 3 } }
arms:
  single: { trainer: { steps: 2 } }
  mix: { trainer: { steps: 2 } }
trainer: { promptsPerStep: 4, groupSize: 2 }
`,
);
let serve: RunningServe;

beforeAll(async () => {
  for (const engine of ["verl", "openrlhf"] as const) {
    const logs: string[] = [];
    const code = await exportCommand(experiment, {
      engine,
      out: join(tmp, engine),
      gpus: 1,
      nodes: 1,
      arm: engine === "verl" ? ["single:math", "mix"] : ["single:science", "mix"],
      log: (l) => logs.push(l),
    });
    expect(code, logs.join("\n")).toBe(0);
  }
  // the service as the job README starts it: the experiment's domain options (science: relTolerance 0)
  serve = await startServe({ port: 0, host: "127.0.0.1", options: { science: { relTolerance: 0 } } });
}, 120_000);
afterAll(async () => {
  await serve?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function python(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("python3", args, { env: { ...process.env, ...env }, timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const VERL_DRIVER = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("custom_module", sys.argv[1])
shim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shim)
def call(**kw):
    try:
        return {"value": shim.compute_score(**kw)}
    except Exception as e:
        return {"raised": type(e).__name__, "bases": [c.__name__ for c in type(e).__mro__], "message": str(e)}
out = {}
for name, row in json.loads(sys.argv[2]).items():
    out[name] = call(data_source=row["data_source"], solution_str=row["solution"], ground_truth=row["ground_truth"],
                     extra_info=row["extra_info"])
print(json.dumps(out))
`;

describe("m2rl export: m2rl_reward.py (verl) against a running m2rl serve", () => {
  it("python3 is present under CI", () => {
    if (inCi) expect(hasPython, "python3 is required under CI").toBe(true);
  });

  it.skipIf(!hasPython && !inCi)(
    "an exported row's correct answer scores 1, a wrong one 0, an unknown data source raises",
    async () => {
      const job = join(tmp, "verl", "mix");
      const file = join(job, "data", "train.parquet");
      const rows = (await readRows(new Uint8Array(readFileSync(file)), file)).map((r) => r.data);
      const math = rows.find((r) => r.data_source === "math")!;
      const science = rows.find((r) => r.data_source === "science")!;
      const gt = (r: Record<string, unknown>) => (r.reward_model as { ground_truth: string }).ground_truth;
      const item = (r: Record<string, unknown>, solution: string, extra: unknown = r.extra_info) => ({
        data_source: r.data_source,
        solution,
        ground_truth: gt(r),
        extra_info: extra,
      });
      const wrongMath = String(Number(gt(math)) + 1);
      const cases = {
        correct: item(math, `The answer is \\boxed{${gt(math)}}`),
        wrong: item(math, `The answer is \\boxed{${wrongMath}}`),
        science: item(science, gt(science)),
        unknown: { ...item(math, gt(math), { index: 0 }), data_source: "acme/riddles" },
      };
      const r = await python(["-c", VERL_DRIVER, join(job, "m2rl_reward.py"), JSON.stringify(cases)], {
        M2RL_REWARD_URL: `http://127.0.0.1:${serve.port}`,
        M2RL_REWARD_TIMEOUT: "20",
      });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.correct.value).toMatchObject({ score: 1, acc: 1, status: "correct", domain: "math" });
      expect(out.wrong.value).toMatchObject({ score: 0, acc: 0, status: "incorrect", domain: "math" });
      expect(out.science.value).toMatchObject({ score: 1, status: "correct", domain: "science" });
      expect(out.unknown.raised).toBe("UnknownDataSourceError");
      expect(out.unknown.bases).toContain("NotImplementedError");
      expect(out.unknown.message).toMatch(/acme\/riddles/);
    },
  );
});

const ORL_DRIVER = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("reward_func", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
items = json.loads(sys.argv[2])
print(json.dumps([mod.reward_func([i["query"]], [i["prompt"]], [i["label"]]) for i in items]))
`;

describe("m2rl export: OpenRLHF rewards against a running m2rl serve", () => {
  it.skipIf(!hasPython && !inCi)(
    "a mixed arm's reward_func grades each item with its label's domain; a single arm's route is its domain's",
    async () => {
      const job = join(tmp, "openrlhf", "mix");
      const lines = readFileSync(join(job, "data", "train.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { prompt: string; label: string; datasource: string });
      const math = lines.find((l) => l.datasource === "math")!;
      const science = lines.find((l) => l.datasource === "science")!;
      const answer = (l: { label: string }) => JSON.parse(l.label).ground_truth as string;
      const items = [
        { query: `${math.prompt}${answer(math)}`, prompt: math.prompt, label: math.label },
        { query: `${math.prompt}${Number(answer(math)) + 1}`, prompt: math.prompt, label: math.label },
        { query: `${science.prompt}${answer(science)}`, prompt: science.prompt, label: science.label },
      ];
      const r = await python(
        ["-c", ORL_DRIVER, join(job, "m2rl_openrlhf_reward.py"), JSON.stringify(items)],
        {
          M2RL_REWARD_URL: `http://127.0.0.1:${serve.port}`,
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { rewards: number[] }[]).map((x) => x.rewards)).toEqual([
        [1],
        [0],
        [1],
      ]);

      // single:science posts to its domain's route, the URL launch.sh gives --reward.remote_url
      const single = join(tmp, "openrlhf", "single-science");
      const words = commandWords(
        readFileSync(join(single, "launch.sh"), "utf8"),
        engineKeys("openrlhf").launch,
      );
      const url = words[words.indexOf("--reward.remote_url") + 1].replace(
        /^\$\{M2RL_REWARD_URL\}/,
        `http://127.0.0.1:${serve.port}`,
      );
      const row = JSON.parse(readFileSync(join(single, "data", "train.jsonl"), "utf8").split("\n")[0]);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: [`${row.prompt}${row.label}`],
          prompts: [row.prompt],
          labels: [row.label],
        }),
      });
      expect(((await res.json()) as { rewards: number[] }).rewards).toEqual([1]);
    },
  );
});
