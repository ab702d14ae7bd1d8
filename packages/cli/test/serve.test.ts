import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { pairs, startServe } from "../src/commands/serve.ts";

async function post(port: number, path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe("m2rl serve options reach the server", () => {
  it("--data-source maps a verl data_source; --domain-concurrency and --max-queued-items set the budgets", async () => {
    const parse = pairs("--data-source", (v) => v);
    expect(parse("acme/riddles=math,b=code", parse("x=math"))).toEqual({
      x: "math",
      "acme/riddles": "math",
      b: "code",
    });
    expect(() => parse("nodomain")).toThrow(/name=value/);
    const s = await startServe({
      port: 0,
      host: "127.0.0.1",
      dataSources: { "acme/riddles": "math" },
      domainConcurrency: { code: 3 },
      maxQueuedItems: 100,
    });
    try {
      const r = await post(s.port, "/verl/compute_score", {
        items: [
          { data_source: "acme/riddles", solution_str: "5", ground_truth: "5" },
          { data_source: "acme/other", solution_str: "5", ground_truth: "5" },
        ],
      });
      const results = r.body.results as { score: number; domain: string | null }[];
      expect(results.map((x) => [x.score, x.domain])).toEqual([
        [1, "math"],
        [0, null],
      ]);
      // a domain's budget exists once the domain has been used
      await post(s.port, "/v1/verify/code", {
        items: [{ response: "print(1)", ground_truth: { tests: [{ input: "", output: "1\n" }] } }],
      });
      const health = (await (await fetch(`http://127.0.0.1:${s.port}/health`)).json()) as {
        load: Record<string, { concurrency: number }>;
      };
      expect(health.load.code.concurrency).toBe(3);
      expect(health.load.math.concurrency).toBe(64);
    } finally {
      await s.close();
    }
  });
});

describe("m2rl serve", () => {
  it("serves the registered domains (math by default on /reward, code by route)", async () => {
    const s = await startServe({
      port: 0,
      host: "127.0.0.1",
      options: { code: { limits: { wallMs: 3000 } } },
    });
    try {
      const health = (await (await fetch(`http://127.0.0.1:${s.port}/health`)).json()) as {
        domains: string[];
      };
      expect(health.domains).toEqual(expect.arrayContaining(["math", "code"]));
      const r = await post(s.port, "/reward", {
        query: ["What is 2+2? The answer is \\boxed{4}", "What is 2+2? \\boxed{5}"],
        prompts: ["What is 2+2?", "What is 2+2?"],
        labels: ["4", "4"],
      });
      expect(r.body.rewards).toEqual([1, 0]);
      const c = await post(s.port, "/v1/verify/code", {
        items: [
          { response: "print(int(input())+1)", ground_truth: { tests: [{ input: "1\n", output: "2\n" }] } },
        ],
      });
      expect((c.body.results as { status: string }[])[0]?.status).toBe("correct");
    } finally {
      await s.close();
    }
  });

  it("refuses to expose the service without a token, and bad domain options", async () => {
    const saved = process.env.M2RL_SERVE_TOKEN;
    delete process.env.M2RL_SERVE_TOKEN;
    try {
      await expect(startServe({ port: 0, host: "0.0.0.0" })).rejects.toThrow(/bearer token is required/);
      await expect(startServe({ port: 0, host: "127.0.0.1", options: { mth: {} } })).rejects.toThrow(
        /unknown domain 'mth'/,
      );
      const s = await startServe({ port: 0, host: "127.0.0.1", options: { code: { reward: "most" } } });
      const r = await post(s.port, "/v1/verify/code", {
        items: [{ response: "x", ground_truth: { tests: [] } }],
      });
      expect(r.status).toBe(404); // the domain cannot be created with these options: named in the message
      expect(String(r.body.error)).toMatch(/reward/);
      await s.close();
    } finally {
      if (saved !== undefined) process.env.M2RL_SERVE_TOKEN = saved;
    }
  });

  it("runs as a command until SIGTERM", async () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
    const script = join(mkdtempSync(join(tmpdir(), "m2rl-serve-")), "serve.mts");
    writeFileSync(
      script,
      `const m = await import(${JSON.stringify(main)});\nprocess.exit(await m.main(["node", "m2rl", "serve", "--port", "0", "--quiet"]));\n`,
    );
    const child = spawn(process.execPath, ["--conditions=m2rl-source", "--import", "tsx", script], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 30_000);
      child.stderr.on("data", (c) => {
        err += String(c);
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
    });
    const h = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string };
    expect(h.status).toBe("ok");
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    expect(code).toBe(0);
    expect(err).toMatch(/shutting down/);
  }, 60_000);
});
