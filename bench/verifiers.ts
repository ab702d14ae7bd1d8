/**
 * Verifier benchmark: checks/s of each registered domain's verifier (on its own synthetic eval tasks: the reference
 * answer and a wrong answer, alternating), sandbox test runs/s for Python and JavaScript (one fresh bubblewrap
 * sandbox per run), the code domain end to end, and the reward server under concurrent loopback clients.
 *
 *   npm run bench:verifiers -- [--seconds 2] [--runs 120] [--clients 200] [--requests 10] [--skip-sandbox] [--skip-server]
 *
 * Prints one JSON object. Timings include everything after imports; the machine's core count is recorded.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { availableParallelism, cpus, loadavg } from "node:os";
import { PluginHost, type Task } from "@m2rl/core";
import { builtinPlugins, codeSyntheticTasks, RewardServer, Sandbox, verifyCode } from "@m2rl/verifiers";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const SECONDS = arg("seconds", 2);
const RUNS = arg("runs", 120);
const CLIENTS = arg("clients", 200);
const REQUESTS = arg("requests", 10);

const result: Record<string, unknown> = {
  machine: {
    cpus: availableParallelism(),
    model: cpus()[0]?.model,
    node: process.version,
    loadavgAtStart: loadavg(),
  },
};

/** Runs per second of wall time. (CPU time of sandboxed runs is not reported: processes reaped inside a PID
 * namespace are not all charged to this process's children, so the numbers would understate the cost.) */
function rates(runs: number, seconds: number) {
  return { testRunsPerSecond: Math.round((runs / seconds) * 10) / 10 };
}

/** A wrong answer of the same shape: for text answers, change the last digit or append a character. */
function wrong(answer: string): string {
  const m = /(\d)(?!.*\d)/s.exec(answer);
  if (m && m.index !== undefined)
    return answer.slice(0, m.index) + String((Number(m[1]) + 1) % 10) + answer.slice(m.index + 1);
  return `${answer}x`;
}

async function verifierThroughput(): Promise<Record<string, unknown>> {
  const host = new PluginHost(builtinPlugins);
  const out: Record<string, unknown> = {};
  for (const name of host.registry.domains.names()) {
    if (name === "code") continue; // measured with the sandbox below
    const domain = await host.registry.domains.get(name).create({}, {});
    const tasks = (await domain.tasks({ split: "eval", seed: 1, count: 500 })) as Task[];
    const usable = tasks.filter((t) => typeof t.reference === "string" || typeof t.groundTruth === "string");
    if (!usable.length) {
      out[name] = { skipped: "no reference answers in its synthetic tasks" };
      continue;
    }
    const inputs = usable.flatMap((t) => {
      const ref = typeof t.reference === "string" ? t.reference : `The answer is \\boxed{${t.groundTruth}}`;
      return [
        { response: ref, groundTruth: t.groundTruth },
        { response: wrong(ref), groundTruth: t.groundTruth },
      ];
    });
    const statuses: Record<string, number> = {};
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < SECONDS * 1000) {
      for (const input of inputs) {
        const v = await domain.verify(input);
        statuses[v.status] = (statuses[v.status] ?? 0) + 1;
        n++;
      }
    }
    const s = (performance.now() - t0) / 1000;
    out[name] = { checksPerSecond: Math.round(n / s), checks: n, distinctInputs: inputs.length, statuses };
    await domain.close?.();
  }
  return out;
}

async function sandboxThroughput(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const programs = {
    python: "print(int(input())*2)",
    javascript: 'console.log(Number(require("fs").readFileSync(0,"utf8"))*2)',
  } as const;
  for (const concurrency of [availableParallelism(), availableParallelism() * 2]) {
    const sb = new Sandbox({ concurrency });
    for (const language of ["python", "javascript"] as const) {
      const runs = language === "python" ? RUNS : Math.ceil(RUNS / 2);
      await sb.run({ language, code: programs[language], stdin: "1\n" }); // warm the page cache
      const t0 = performance.now();
      const rs = await Promise.all(
        Array.from({ length: runs }, (_, i) =>
          sb.run({ language, code: programs[language], stdin: `${i}\n` }),
        ),
      );
      const s = (performance.now() - t0) / 1000;
      const ok = rs.filter((r, i) => r.outcome === "ok" && r.stdout === `${i * 2}\n`).length;
      const walls = rs.map((r) => r.wallMs).sort((a, b) => a - b);
      out[`${language}@${concurrency}`] = {
        ...rates(runs, s),
        runs,
        correct: ok,
        medianRunMs: Math.round(walls[Math.floor(walls.length / 2)] ?? 0),
      };
    }
    await sb.close();
  }
  // Baseline: the same Python program spawned directly, no sandbox (what the interpreter start costs here).
  {
    const runs = RUNS;
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < runs) {
        const i = next++;
        await new Promise<void>((resolve) => {
          const c = spawn("/usr/bin/python3", ["-s", "-B", "-c", programs.python], {
            stdio: ["pipe", "ignore", "ignore"],
          });
          c.stdin.end(`${i}\n`);
          c.on("close", () => resolve());
        });
      }
    };
    await Promise.all(Array.from({ length: availableParallelism() * 2 }, worker));
    const s = (performance.now() - t0) / 1000;
    out[`python-unsandboxed@${availableParallelism() * 2}`] = {
      ...rates(runs, s),
      runs,
    };
  }
  // The code domain end to end: synthetic tasks (TESTS stdin/stdout tests each, all-pass), reference programs,
  // with each test isolation mode.
  const TESTS = 5;
  for (const testIsolation of ["process", "sandbox"] as const) {
    const sb = new Sandbox({ concurrency: availableParallelism() * 2 });
    const tasks = codeSyntheticTasks("code", "eval", 1, Math.ceil(RUNS / TESTS), {
      difficulty: 5,
      languages: ["python"],
      testsPerTask: TESTS,
      evalFraction: 0.2,
    });
    const t0 = performance.now();
    const vs = await Promise.all(
      tasks.map((t) =>
        verifyCode(sb, { response: t.reference as string, groundTruth: t.groundTruth }, { testIsolation }),
      ),
    );
    const s = (performance.now() - t0) / 1000;
    out[`codeDomain(python, ${TESTS} tests, isolation=${testIsolation})`] = {
      responsesPerSecond: Math.round((tasks.length / s) * 10) / 10,
      ...rates(tasks.length * TESTS, s),
      responses: tasks.length,
      correct: vs.filter((v) => v.status === "correct").length,
    };
    await sb.close();
  }
  return out;
}

function post(port: number, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path, headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function serverLoad(): Promise<Record<string, unknown>> {
  const host = new PluginHost(builtinPlugins);
  const math = await host.registry.domains.get("math").create({}, {});
  const server = new RewardServer({
    domains: { names: () => ["math"], get: async () => math },
    defaultDomain: "math",
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  let errors = 0;
  let items = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let k = 0; k < REQUESTS; k++) {
        const query = Array.from({ length: 16 }, (_, i) => `Q${c}: \\boxed{${(c + i) % 7}/2}`);
        const body = JSON.stringify({
          query,
          prompts: query.map((q) => q.slice(0, q.indexOf(":") + 1)),
          labels: query.map(() => `${c % 7}/2`),
        });
        try {
          const r = await post(port, "/reward", body);
          const rewards = (JSON.parse(r.text) as { rewards?: number[] }).rewards;
          if (r.status !== 200 || rewards?.length !== 16) errors++;
          else items += rewards.length;
        } catch {
          errors++;
        }
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await server.close();
  return {
    clients: CLIENTS,
    requests: CLIENTS * REQUESTS,
    itemsPerRequest: 16,
    errors,
    requestsPerSecond: Math.round((CLIENTS * REQUESTS) / s),
    itemsPerSecond: Math.round(items / s),
    peakRssGrowthMiB: Math.round((peak - rss0) / 1048576),
  };
}

result.verifiers = await verifierThroughput();
if (!flag("skip-sandbox")) result.sandbox = await sandboxThroughput();
if (!flag("skip-server")) result.server = await serverLoad();
(result.machine as Record<string, unknown>).loadavgAtEnd = loadavg();
console.log(JSON.stringify(result, null, 2));
