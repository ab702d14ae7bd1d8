import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Domain, Verification } from "@m2rl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RewardServer } from "./server.ts";

/** The shim verl loads with custom_reward_function.path. */
const SHIM = fileURLToPath(new URL("../../python/m2rl_reward.py", import.meta.url));
const hasPython = spawnSync("python3", ["--version"]).status === 0;
const inCi = !!process.env.CI && process.env.CI !== "false";

const math: Domain<unknown> = {
  name: "math",
  async tasks() {
    return [];
  },
  async verify({ response, groundTruth }): Promise<Verification> {
    const got = response.trim();
    return got === String(groundTruth)
      ? { reward: 1, status: "correct", extracted: got }
      : { reward: 0, status: "incorrect", extracted: got, detail: `expected ${String(groundTruth)}` };
  },
};

/** Imports the shim as verl does (a file path) and calls compute_score the way verl's reward managers call it. */
const DRIVER = `
import importlib.util, json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
spec = importlib.util.spec_from_file_location("custom_module", sys.argv[1])
shim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shim)
down_url = sys.argv[2]

def call(**kw):
    try:
        out = shim.compute_score(**kw)
    except Exception as e:
        return {"raised": type(e).__name__, "message": str(e)}
    return {"value": out, "types": {k: type(v).__name__ for k, v in out.items()},
            "none": [k for k, v in out.items() if v is None]}

print(json.dumps({
    "correct": call(data_source="openai/gsm8k", solution_str=" 5 ", ground_truth="5", extra_info={"index": 0}),
    "wrong": call(data_source="openai/gsm8k", solution_str="4", ground_truth="5", extra_info=None),
    "unknown": call(data_source="acme/riddles", solution_str="5", ground_truth="5", extra_info={"split": "train"}),
    "verl_kwargs": call(data_source="openai/gsm8k", solution_str="5", ground_truth="5", extra_info=None,
                        reward_router_address=None, reward_model_tokenizer=None),
    "bad_kwarg": call(data_source="openai/gsm8k", solution_str="5", ground_truth="5", extra_info=None, urll="x"),
    "bad_token": call(data_source="openai/gsm8k", solution_str="5", ground_truth="5", token="wrong-token-0123456789"),
    "down": call(data_source="openai/gsm8k", solution_str="5", ground_truth="5", extra_info=None,
                 url=down_url, retries=1),
}))
`;

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("python3", args, { env: { ...process.env, ...env }, timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const token = "shim-test-token-0123456789";
let server: RewardServer;
let port: number;
let dir: string;
beforeAll(async () => {
  server = new RewardServer({
    domains: {
      names: () => ["math"],
      async get(name) {
        if (name !== "math") throw new Error(`unknown domain '${name}'`);
        return math;
      },
    },
    defaultDomain: "math",
    token,
  });
  port = (await server.listen(0)).port;
  dir = await mkdtemp(join(tmpdir(), "m2rl-shim-"));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("verl shim (python/m2rl_reward.py)", () => {
  it("python3 is present under CI", () => {
    if (inCi) expect(hasPython, "python3 is required under CI").toBe(true);
  });

  it.skipIf(!hasPython && !inCi)("compute_score against a live service and a dead one", async () => {
    const driver = join(dir, "driver.py");
    await writeFile(driver, DRIVER);
    const down = `http://127.0.0.1:${await closedPort()}`;
    const r = await run([driver, SHIM, down], {
      M2RL_REWARD_URL: `http://127.0.0.1:${port}`,
      M2RL_REWARD_TOKEN: token,
      M2RL_REWARD_TIMEOUT: "10",
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const types = {
      score: "float",
      acc: "float",
      status: "str",
      domain: "str",
      extracted: "str",
      detail: "str",
    };

    expect(out.correct.value).toEqual({
      score: 1,
      acc: 1,
      status: "correct",
      domain: "math",
      extracted: "5",
      detail: "",
    });
    expect(out.wrong.value).toEqual({
      score: 0,
      acc: 0,
      status: "incorrect",
      domain: "math",
      extracted: "4",
      detail: "expected 5",
    });
    // an unknown data_source raises (as verl's default_compute_score does), with the service's message
    expect(out.unknown).toMatchObject({ raised: "UnknownDataSourceError" });
    expect(out.unknown.message).toMatch(/data_source 'acme\/riddles' is not mapped/);
    expect(out.verl_kwargs.value).toMatchObject({ score: 1, status: "correct" });
    for (const k of ["correct", "wrong", "verl_kwargs"]) {
      expect(out[k].types, k).toEqual(types);
      expect(out[k].none, k).toEqual([]);
    }

    expect(out.bad_kwarg).toMatchObject({ raised: "TypeError" });
    expect(out.bad_kwarg.message).toMatch(/unknown keyword arguments \['urll'\]/);
    expect(out.bad_token).toMatchObject({ raised: "RewardServiceError" });
    expect(out.bad_token.message).toMatch(/HTTP 401 .*bad bearer token/);
    // a dead service raises after the retries, it never reads as a 0 reward
    expect(out.down).toMatchObject({ raised: "RewardServiceError" });
    expect(out.down.message).toMatch(
      /cannot reach the M2RL reward service at http:\/\/127\.0\.0\.1:\d+\/verl/,
    );
    expect(r.stderr).toMatch(/attempt 1 of 2/);
  });
});

describe("verl shim is shipped", () => {
  it("the package's files include python/", async () => {
    const pkg = (await import("../../package.json", { with: { type: "json" } })).default as {
      files: string[];
    };
    expect(pkg.files).toContain("python");
    expect(dirname(SHIM).endsWith("python")).toBe(true);
  });
});
