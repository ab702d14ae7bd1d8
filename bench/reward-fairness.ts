/**
 * Reward-service fairness: math latency while slow code checks are in flight. Starts the reward server in-process
 * (math and code domains, default budgets), measures the p99 latency of one-item math requests on the idle server,
 * then again while 100 code items whose programs sleep hold the code domain's slots and queue, and prints one JSON
 * object with both p99s and their ratio. The goal: the loaded p99 stays under 3x the idle p99.
 *
 *   npm run bench:reward-fairness -- [--seconds 5] [--clients 4] [--code-items 100]
 *
 * Exits 1 when the bubblewrap sandbox is unavailable (the code items could not run, so nothing would be measured),
 * when the code items were not in flight for the whole loaded phase, or when the goal is missed.
 */
import { Agent, request } from "node:http";
import { availableParallelism, cpus, loadavg } from "node:os";
import type { Domain } from "@m2rl/core";
import {
  codeDomainFactory,
  mathDomainFactory,
  RewardServer,
  sandboxUnavailableReason,
} from "@m2rl/verifiers";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const SECONDS = arg("seconds", 5);
const CLIENTS = arg("clients", 4);
const CODE_ITEMS = arg("code-items", 100);
const GOAL = 3;

const machine = { cpus: availableParallelism(), model: cpus()[0]?.model, node: process.version };

const reason = sandboxUnavailableReason();
if (reason) {
  console.log(JSON.stringify({ error: `bubblewrap sandbox unavailable: ${reason}`, machine }, null, 2));
  process.exit(1);
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function post(port: number, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: path === "/health" ? "GET" : "POST",
        path,
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) }),
        );
      },
    );
    req.on("error", reject);
    req.end(path === "/health" ? undefined : data);
  });
}

const MATH_ITEMS = [
  { response: "So the answer is \\boxed{42}.", ground_truth: "42" },
  { response: "\\boxed{\\frac{1}{2}}", ground_truth: "0.5" },
  { response: "x = \\boxed{3\\sqrt{2}}", ground_truth: "\\sqrt{18}" },
  { response: "The answer is 7", ground_truth: "8" },
];

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** `CLIENTS` loops of one-item math requests for `SECONDS`; per-request latency in ms. */
async function mathLatency(port: number) {
  const ms: number[] = [];
  let wrong = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let k = c; performance.now() < end; k++) {
        const item = MATH_ITEMS[k % MATH_ITEMS.length] as (typeof MATH_ITEMS)[number];
        const t0 = performance.now();
        const r = await post(port, "/v1/verify/math", { items: [item] });
        ms.push(performance.now() - t0);
        const status = (r.json as { results?: { status: string }[] }).results?.[0]?.status;
        if (r.status !== 200 || status === "timeout" || status === "error") wrong++;
      }
    }),
  );
  ms.sort((a, b) => a - b);
  return {
    requests: ms.length,
    failed: wrong,
    p50Ms: r3(quantile(ms, 0.5)),
    p99Ms: r3(quantile(ms, 0.99)),
    maxMs: r3(ms[ms.length - 1] ?? 0),
  };
}

interface Health {
  load: Record<string, { active: number; queued: number; concurrency: number }>;
}

const math = (await mathDomainFactory.create({}, {})) as Domain<unknown>;
const code = (await codeDomainFactory.create({}, {})) as Domain<unknown>;
const domains = { math, code } as Record<string, Domain<unknown>>;
const server = new RewardServer({
  domains: {
    names: () => Object.keys(domains),
    async get(name) {
      const d = domains[name];
      if (!d) throw new Error(`unknown domain '${name}'`);
      return d;
    },
  },
  defaultDomain: "math",
  requestTimeoutMs: 120_000,
});
const { port } = await server.listen(0);

// Warm-up (JIT, the math domain's caches, sockets), then the idle phase.
await mathLatency(port).catch(() => undefined);
const idle = await mathLatency(port);

// 100 sleeping programs, as 10 requests of 10 items: they fill the code domain's sandbox pool and queue.
const gt = { language: "python", tests: [{ input: "", output: "done\n" }] };
const sleeper = { response: "```python\nimport time\ntime.sleep(60)\nprint('done')\n```", ground_truth: gt };
const perRequest = Math.min(10, CODE_ITEMS);
const codeRequests = Array.from({ length: Math.ceil(CODE_ITEMS / perRequest) }, (_, i) =>
  post(port, "/v1/verify/code", {
    items: Array.from({ length: Math.min(perRequest, CODE_ITEMS - i * perRequest) }, () => sleeper),
  }).catch(() => undefined),
);
const codeLoad = async () => ((await post(port, "/health", {})).json as Health).load.code;
for (let t = 0; t < 100; t++) {
  const l = await codeLoad();
  if (l && l.active + l.queued >= CODE_ITEMS) break;
  await new Promise((r) => setTimeout(r, 50));
}
const before = await codeLoad();
const loaded = await mathLatency(port);
const after = await codeLoad();

await server.close(); // cancels the code requests: their sandboxes are killed
await Promise.all(codeRequests);
await code.close?.();
agent.destroy();

const ratio = r3(loaded.p99Ms / idle.p99Ms);
const inFlight = (before?.active ?? 0) + (before?.queued ?? 0) >= CODE_ITEMS && (after?.active ?? 0) > 0;
const pass = inFlight && ratio < GOAL && idle.failed === 0 && loaded.failed === 0;
console.log(
  JSON.stringify(
    {
      machine: { ...machine, loadavgAtEnd: loadavg() },
      settings: { seconds: SECONDS, clients: CLIENTS, codeItems: CODE_ITEMS, program: "time.sleep(60)" },
      idle,
      loaded: { ...loaded, codeLoadBefore: before, codeLoadAfter: after },
      idleP99Ms: idle.p99Ms,
      loadedP99Ms: loaded.p99Ms,
      ratio,
      goal: `loaded p99 < ${GOAL}x idle p99`,
      pass,
      ...(inFlight ? {} : { problem: "the code items were not all in flight during the loaded phase" }),
    },
    null,
    2,
  ),
);
process.exit(pass ? 0 : 1);
