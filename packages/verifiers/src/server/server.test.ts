import { execFileSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import type { Domain, Verification } from "@m2rl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeDomainFactory, verifyCode } from "../code/domain.ts";
import { Sandbox, sandboxUnavailableReason } from "../sandbox/sandbox.ts";
import { type DomainProvider, domainOfDataSource, isLoopback, RewardServer } from "./server.ts";

/** A deterministic test domain: correct when the response (trimmed) equals the ground truth string. */
function exactDomain(name: string, delayMs = 0): Domain<unknown> {
  return {
    name,
    async tasks() {
      return [];
    },
    async verify({ response, groundTruth }): Promise<Verification> {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (typeof groundTruth !== "string")
        return { reward: 0, status: "error", detail: "ground truth must be a string" };
      const got = response.trim();
      if (!got) return { reward: 0, status: "unparsable", detail: "empty" };
      return got === groundTruth
        ? { reward: 1, status: "correct", extracted: got }
        : { reward: 0, status: "incorrect", extracted: got, detail: `expected ${groundTruth}` };
    },
  };
}

function provider(domains: Record<string, Domain<unknown>>): DomainProvider {
  return {
    names: () => Object.keys(domains),
    async get(name) {
      const d = domains[name];
      if (!d) throw new Error(`unknown domain '${name}'`);
      return d;
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: replies are untyped JSON, checked field by field
type J = any;
interface Reply {
  status: number;
  body: J;
  headers: Record<string, string | string[] | undefined>;
}

function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method, path, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            body: text ? JSON.parse(text) : undefined,
            headers: res.headers,
          });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const code = codeDomainFactory.create({ limits: { wallMs: 3000 } }, {}) as Domain<unknown>;
/** Correct when the response holds `\boxed{<ground truth>}` anywhere: what a prompt's few-shot example would fool. */
const boxed: Domain<unknown> = {
  name: "boxed",
  async tasks() {
    return [];
  },
  async verify({ response, groundTruth }): Promise<Verification> {
    return response.includes(`\\boxed{${String(groundTruth)}}`)
      ? { reward: 1, status: "correct" }
      : { reward: 0, status: "incorrect", detail: `response: ${JSON.stringify(response)}` };
  },
};
const domains = provider({ math: exactDomain("math"), slow: exactDomain("slow", 200), code, boxed });
let server: RewardServer;
let port: number;
beforeAll(async () => {
  server = new RewardServer({
    domains,
    defaultDomain: "math",
    concurrency: 32,
    requestTimeoutMs: 5000,
    maxBatch: 100,
  });
  port = (await server.listen(0)).port;
});
afterAll(async () => {
  await server.close();
  await code.close?.();
});

describe("reward server: endpoints", () => {
  it("GET /health lists the domains", async () => {
    const r = await call(port, "GET", "/health");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "ok", version: 1, domains: ["math", "slow", "code", "boxed"] });
  });

  it("POST /v1/verify/<domain> returns a status per item, with ids and counts", async () => {
    const r = await call(port, "POST", "/v1/verify/math", {
      version: 1,
      items: [
        { id: "a", response: " 42 ", ground_truth: "42" },
        { id: 7, response: "41", ground_truth: "42" },
        { response: "", ground_truth: "42" },
        { response: "x", ground_truth: 3 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.domain).toBe("math");
    expect(r.body.results.map((x: J) => [x.id, x.reward, x.status])).toEqual([
      ["a", 1, "correct"],
      [7, 0, "incorrect"],
      [undefined, 0, "unparsable"],
      [undefined, 0, "error"],
    ]);
    expect(r.body.counts).toEqual({ correct: 1, incorrect: 1, unparsable: 1, timeout: 0, error: 1 });
  });

  it("the code domain runs sandboxed through the server", async () => {
    const gt = { language: "python", tests: [{ input: "3\n", output: "9\n" }] };
    const r = await call(port, "POST", "/v1/verify/code", {
      items: [
        { response: "```python\nn=int(input())\nprint(n*n)\n```", ground_truth: gt },
        { response: "print(8)", ground_truth: JSON.stringify(gt) },
      ],
    });
    expect(r.body.results.map((x: J) => x.status)).toEqual(["correct", "incorrect"]);
  });

  it("OpenRLHF: strips the prompt from the query, labels are ground truths, metas may route", async () => {
    const r = await call(port, "POST", "/reward", {
      query: ["Q: 6*7? A: 42", "Q: 1+1? A: 3", "Q: code A: print(4)"],
      prompts: ["Q: 6*7? A:", "Q: 1+1? A:", "Q: code A:"],
      labels: ["42", "2", JSON.stringify({ language: "python", tests: [{ input: "", output: "4\n" }] })],
      metas: [{}, { domain: "math" }, { domain: "code" }],
    });
    expect(r.status).toBe(200);
    expect(r.body.rewards).toEqual([1, 0, 1]);
    expect(r.body.scores).toEqual([1, 0, 1]);
    expect(r.body.extra_logs.status_incorrect).toEqual([0, 1, 0]);
    expect(r.body.statuses).toEqual(["correct", "incorrect", "correct"]);
    const legacy = await call(port, "POST", "/get_reward/math", {
      query: ["7"],
      prompts: [""],
      labels: ["7"],
    });
    expect(legacy.body.rewards).toEqual([1]);
  });

  it("OpenRLHF: only the response is graded; a query that does not start with its prompt is refused", async () => {
    const fewShot = "Example: 1+1 = \\boxed{2}\nQ: 5-3?\nA:";
    const r = await call(port, "POST", "/reward/boxed", {
      query: [
        `${fewShot} I am not sure.`,
        // the trainer's rendering differs from prompts[1] (a space lost): never grade the prompt's \boxed{2}
        `Example: 1+1 =\\boxed{2}\nQ: 5-3?\nA: I am not sure.`,
        `${fewShot} \\boxed{2}`,
      ],
      prompts: [fewShot, fewShot, fewShot],
      labels: ["2", "2", "2"],
    });
    expect(r.status).toBe(200);
    expect(r.body.rewards).toEqual([0, 0, 1]);
    expect(r.body.statuses).toEqual(["incorrect", "error", "correct"]);
    expect(r.body.extra_logs.status_error).toEqual([0, 1, 0]);
    expect(r.body.details[1]).toMatch(/does not start with prompts\[1\]/);
    expect(r.body.details[1]).toMatch(/character 14/);
  });

  it("OpenRLHF: left padding, BOS and trailing EOS/padding tokens are normalised away, nothing else", async () => {
    const chat = "<|im_start|>user\nQ: 5-3? (e.g. \\boxed{2})<|im_end|>\n<|im_start|>assistant\n";
    const r = await call(port, "POST", "/reward/boxed", {
      query: [
        // Qwen: left padding with <|endoftext|>, the answer, then <|im_end|> and right padding
        `<|endoftext|><|endoftext|>${chat}\\boxed{2}<|im_end|><|endoftext|>`,
        `<|endoftext|>${chat}no idea<|im_end|>`,
        // Llama 2: the decoded BOS is followed by a space; the prompt has no BOS
        "<s> [INST] 5-3, like \\boxed{2}? [/INST] \\boxed{3}</s>",
        // Llama 3: the chat template wrote the BOS into the prompt too
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n\\boxed{2}?<|eot_id|>it is \\boxed{2}<|eot_id|>",
        // a chat token inside the text is not normalised: the prefix does not match
        `<|endoftext|>${chat.replace("<|im_end|>", "")}\\boxed{2}`,
      ],
      prompts: [
        chat,
        chat,
        "[INST] 5-3, like \\boxed{2}? [/INST]",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n\\boxed{2}?<|eot_id|>",
        chat,
      ],
      labels: ["2", "2", "2", "2", "2"],
    });
    expect(r.status).toBe(200);
    expect(r.body.statuses).toEqual(["correct", "incorrect", "incorrect", "correct", "error"]);
    expect(r.body.rewards).toEqual([1, 0, 0, 1, 0]);
  });

  it("OpenRLHF: prompts are required (the query alone cannot be split into prompt and response)", async () => {
    const r = await call(port, "POST", "/reward/boxed", { query: ["x \\boxed{2}"], labels: ["2"] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/'prompts' is required/);
  });

  it("verl: an unknown data_source is refused per item, never graded as the default domain", async () => {
    const r = await call(port, "POST", "/verl/compute_score", {
      items: [
        { data_source: "acme/riddles", solution_str: "5", ground_truth: "5", extra_info: null },
        { data_source: "openai/gsm8k", solution_str: "5", ground_truth: "5" },
        { solution_str: "5", ground_truth: "5" },
      ],
    });
    expect(r.status).toBe(200);
    const [unknown, gsm8k, none] = r.body.results;
    expect(unknown).toMatchObject({ score: 0, status: "error", domain: null });
    expect(unknown.detail).toMatch(/data_source 'acme\/riddles' is not mapped/);
    expect(unknown.detail).toMatch(/gsm8k/);
    expect(gsm8k).toMatchObject({ score: 1, status: "correct", domain: "math" });
    // no data_source at all: the server's default domain, as documented
    expect(none).toMatchObject({ score: 1, status: "correct", domain: "math" });
  });

  it("verl: the dataSources option maps data sources to domains, and is checked when the server is built", async () => {
    const s = new RewardServer({ domains, dataSources: { "acme/riddles": "math", "openai/gsm8k": "slow" } });
    const p = (await s.listen(0)).port;
    const r = await call(p, "POST", "/verl/compute_score", {
      items: [
        { data_source: "acme/riddles", solution_str: "5", ground_truth: "5" },
        { data_source: "openai/gsm8k", solution_str: "5", ground_truth: "5" },
        { data_source: "acme/other", solution_str: "5", ground_truth: "5" },
      ],
    });
    expect(r.body.results.map((x: J) => [x.score, x.domain])).toEqual([
      [1, "math"],
      [1, "slow"],
      [0, null],
    ]);
    expect(r.body.results[2].detail).toMatch(/acme\/riddles → math/);
    await s.close();
    expect(() => new RewardServer({ domains, dataSources: { x: "nope" } })).toThrow(
      /dataSources maps 'x' to unknown domain 'nope'/,
    );
  });

  it("verl: compute_score batch, domain from data_source or extra_info", async () => {
    const r = await call(port, "POST", "/verl/compute_score", {
      items: [
        { data_source: "openai/gsm8k", solution_str: "5", ground_truth: "5", extra_info: { index: 0 } },
        {
          data_source: "whatever",
          solution_str: "print(1)",
          ground_truth: { tests: [{ input: "", output: "1" }] },
          extra_info: { domain: "code" },
        },
      ],
    });
    expect(r.body.results.map((x: J) => [x.score, x.domain])).toEqual([
      [1, "math"],
      [1, "code"],
    ]);
  });

  it("TRL: completions as strings or chat messages", async () => {
    const r = await call(port, "POST", "/trl/reward/math", {
      prompts: ["p1", "p2"],
      completions: ["12", [{ role: "assistant", content: "13" }]],
      ground_truth: ["12", "12"],
    });
    expect(r.body).toEqual({ rewards: [1, 0], statuses: ["correct", "incorrect"] });
  });

  const bad: [string, string, string, unknown, number, RegExp][] = [
    ["not JSON", "POST", "/v1/verify/math", "{oops", 400, /not JSON/],
    ["missing items", "POST", "/v1/verify/math", {}, 400, /must have required property 'items'/],
    [
      "response not a string",
      "POST",
      "/v1/verify/math",
      { items: [{ response: 1, ground_truth: "1" }] },
      400,
      /\/items\/0\/response must be string/,
    ],
    [
      "unknown field",
      "POST",
      "/v1/verify/math",
      { items: [{ response: "1", ground_truth: "1", extra: 1 }] },
      400,
      /additional properties 'extra'/,
    ],
    [
      "wrong version",
      "POST",
      "/v1/verify/math",
      { version: 2, items: [{ response: "1", ground_truth: "1" }] },
      400,
      /version/,
    ],
    [
      "unknown domain",
      "POST",
      "/v1/verify/mth",
      { items: [{ response: "1", ground_truth: "1" }] },
      404,
      /unknown domain 'mth'/,
    ],
    ["unknown path", "POST", "/v2/nothing", {}, 404, /no such endpoint/],
    ["GET on a POST route", "GET", "/reward", undefined, 405, /takes POST/],
    ["OpenRLHF without labels", "POST", "/reward", { query: ["a"] }, 400, /labels/],
    [
      "OpenRLHF length mismatch",
      "POST",
      "/reward",
      { query: ["a", "b"], labels: ["a"] },
      400,
      /labels has 1 items, query has 2/,
    ],
    [
      "batch too large",
      "POST",
      "/v1/verify/math",
      { items: Array.from({ length: 101 }, () => ({ response: "1", ground_truth: "1" })) },
      413,
      /exceeds the limit of 100/,
    ],
  ];
  for (const [name, method, path, body, status, re] of bad)
    it(`4xx: ${name}`, async () => {
      const r = await call(port, method, path, body);
      expect(r.status).toBe(status);
      expect(r.body.error).toMatch(re);
    });

  it("413 for a body over the byte limit", async () => {
    const small = new RewardServer({ domains, defaultDomain: "math", maxBodyBytes: 1000 });
    const p = (await small.listen(0)).port;
    const r = await call(p, "POST", "/v1/verify/math", {
      items: [{ response: "x".repeat(5000), ground_truth: "1" }],
    });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/exceeds the limit of 1000/);
    await small.close();
  });

  it("items past the request deadline come back as timeout, the request does not hang", async () => {
    const s = new RewardServer({ domains, concurrency: 1, requestTimeoutMs: 300 });
    const p = (await s.listen(0)).port;
    const r = await call(p, "POST", "/v1/verify/slow", {
      items: Array.from({ length: 4 }, () => ({ response: "1", ground_truth: "1" })),
    });
    expect(r.status).toBe(200);
    expect(r.body.results[0].status).toBe("correct");
    expect(r.body.results[3].status).toBe("timeout");
    await s.close();
  });

  it("503 with Retry-After when the queue is full", async () => {
    const s = new RewardServer({ domains, concurrency: 1, maxQueuedItems: 3 });
    const p = (await s.listen(0)).port;
    const first = call(p, "POST", "/v1/verify/slow", {
      items: [1, 2, 3].map(() => ({ response: "1", ground_truth: "1" })),
    });
    await new Promise((r) => setTimeout(r, 50));
    // 1 running + 2 queued: two more items would make 4 > 3
    const second = await call(p, "POST", "/v1/verify/slow", {
      items: [1, 2].map(() => ({ response: "1", ground_truth: "1" })),
    });
    expect(second.status).toBe(503);
    expect(second.body.error).toMatch(/server busy/);
    expect((await first).status).toBe(200);
    await s.close();
  });
});

describe("reward server: safe by default", () => {
  it("refuses a non-loopback host without a token, and short tokens", async () => {
    const s = new RewardServer({ domains });
    await expect(s.listen(0, "0.0.0.0")).rejects.toThrow(/without a bearer token/);
    expect(() => new RewardServer({ domains, token: "short" })).toThrow(/at least 16/);
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("0.0.0.0")).toBe(false);
    expect(isLoopback("192.168.1.2")).toBe(false);
  });
  it("requires the bearer token when one is set (health stays open)", async () => {
    const token = "s3cret-token-0123456789";
    const s = new RewardServer({ domains, token, defaultDomain: "math" });
    const p = (await s.listen(0)).port;
    const body = { query: ["1"], prompts: [""], labels: ["1"] };
    expect((await call(p, "POST", "/reward", body)).status).toBe(401);
    expect(
      (await call(p, "POST", "/reward", body, { authorization: "Bearer wrong-token-0123456789" })).status,
    ).toBe(401);
    const ok = await call(p, "POST", "/reward", body, { authorization: `Bearer ${token}` });
    expect(ok.body.rewards).toEqual([1]);
    expect((await call(p, "GET", "/health")).status).toBe(200);
    await s.close();
  });
  it("maps verl data sources to domains", () => {
    const known = ["math", "code", "science", "ifeval"];
    expect(domainOfDataSource("lighteval/MATH", known)).toBe("math");
    expect(domainOfDataSource("codecontests", known)).toBe("code");
    expect(domainOfDataSource("Idavidrein/gpqa", known)).toBe("science");
    expect(domainOfDataSource("google/IFEval", known)).toBe("ifeval");
    expect(domainOfDataSource("unknown-set", known)).toBeUndefined();
    expect(domainOfDataSource("code", ["code"])).toBe("code");
  });
});

describe("reward server: load", () => {
  it("200 concurrent clients on loopback, no error, bounded memory", async () => {
    const clients = 200;
    const perClient = 5;
    const rss0 = process.memoryUsage().rss;
    let errors = 0;
    let rewards = 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let k = 0; k < perClient; k++) {
          const items = Array.from({ length: 8 }, (_, i) => ({
            response: String(c + i),
            ground_truth: String(c),
          }));
          const r = await call(port, "POST", "/v1/verify/math", { items }).catch(() => ({
            status: 0,
            body: undefined as J,
          }));
          if (r.status !== 200 || r.body.results.length !== 8) errors++;
          else rewards += r.body.results.reduce((s: number, x: J) => s + x.reward, 0);
        }
      }),
    );
    expect(errors).toBe(0);
    expect(rewards).toBe(clients * perClient); // exactly item 0 of each request is correct
    expect(process.memoryUsage().rss - rss0).toBeLessThan(300 * 1024 * 1024);
    const h = await call(port, "GET", "/health");
    expect(h.body.active).toBe(0);
    expect(h.body.queued).toBe(0);
  });
});

/** One raw HTTP/1.1 request line (any request target), answered with the status and the body. */
function raw(port: number, target: string, headers = ""): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let text = "";
    sock.on("data", (c) => {
      text += c;
    });
    sock.on("error", reject);
    sock.on("close", () => {
      const [head = "", body = ""] = text.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), body });
    });
    sock.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);
  });
}

describe("reward server: request targets", () => {
  it("an absolute-form target is a 400 with a message, before the token check; never a 500", async () => {
    const token = "s3cret-token-0123456789";
    const s = new RewardServer({ domains, token, defaultDomain: "math" });
    const p = (await s.listen(0)).port;
    for (const target of ["http://host/health", "http://host:99999/health", "http://[bad/v1/domains", "*"]) {
      const r = await raw(p, target);
      expect(r.status, target).toBe(400);
      expect(JSON.parse(r.body).error, target).toMatch(/request target/);
    }
    // origin-form is unchanged; a path starting with // is a path, not a host
    expect((await raw(p, "/health")).status).toBe(200);
    expect((await raw(p, "//x/health")).status).toBe(401);
    expect((await raw(p, "//x/health", `Authorization: Bearer ${token}\r\n`)).status).toBe(404);
    await s.close();
  });
});

/** A domain that takes `ms` unless its input's signal aborts first; counts starts and aborts. */
function waiter(name: string, ms = 20_000) {
  const seen = { started: 0, aborted: 0, withSignal: 0 };
  const domain: Domain<unknown> = {
    name,
    async tasks() {
      return [];
    },
    verify({ signal }): Promise<Verification> {
      seen.started++;
      if (signal) seen.withSignal++;
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve({ reward: 1, status: "correct" }), ms);
        t.unref();
        signal?.addEventListener("abort", () => {
          seen.aborted++;
          clearTimeout(t);
          resolve({ reward: 0, status: "timeout", detail: "aborted" });
        });
      });
    },
  };
  return { domain, seen };
}

const until = async (what: () => Promise<boolean>, ms: number): Promise<boolean> => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return what();
};

describe("reward server: fairness and cancellation", () => {
  it("the deadline aborts a request's unfinished items: running ones see the signal, queued ones never start", async () => {
    const w = waiter("wait");
    const s = new RewardServer({
      domains: provider({ math: exactDomain("math"), wait: w.domain }),
      concurrency: 2,
      requestTimeoutMs: 300,
    });
    const p = (await s.listen(0)).port;
    const r = await call(p, "POST", "/v1/verify/wait", {
      items: Array.from({ length: 5 }, () => ({ response: "1", ground_truth: "1" })),
    });
    expect(r.body.results.map((x: J) => x.status)).toEqual(Array(5).fill("timeout"));
    const idle = await until(async () => {
      const h = (await call(p, "GET", "/health")).body;
      return h.active === 0 && h.queued === 0;
    }, 2000);
    expect(idle).toBe(true);
    expect(w.seen).toEqual({ started: 2, aborted: 2, withSignal: 2 });
    await s.close();
  });

  it("each domain has its own budget: a domain that holds every slot does not delay math", async () => {
    const w = waiter("wait");
    const s = new RewardServer({
      domains: provider({ math: exactDomain("math"), wait: w.domain }),
      concurrency: 2,
      requestTimeoutMs: 5000,
    });
    const p = (await s.listen(0)).port;
    const blocked = call(p, "POST", "/v1/verify/wait", {
      items: Array.from({ length: 6 }, () => ({ response: "1", ground_truth: "1" })),
    });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const m = await call(p, "POST", "/v1/verify/math", { items: [{ response: "2", ground_truth: "2" }] });
    expect(m.body.results[0].status).toBe("correct");
    expect(performance.now() - t0).toBeLessThan(2000);
    const h = (await call(p, "GET", "/health")).body;
    expect(h.load.wait).toEqual({ active: 2, queued: 4, concurrency: 2 });
    expect(h.load.math).toEqual({ active: 0, queued: 0, concurrency: 2 });
    expect([h.active, h.queued]).toEqual([2, 4]);
    await s.close(); // close aborts the work in flight
    expect(w.seen.aborted).toBe(2);
    await blocked.catch(() => undefined);
  });

  it("domainConcurrency sets one domain's budget", async () => {
    const w = waiter("wait");
    const s = new RewardServer({
      domains: provider({ math: exactDomain("math"), wait: w.domain }),
      concurrency: 8,
      domainConcurrency: { wait: 1 },
    });
    const p = (await s.listen(0)).port;
    const blocked = call(p, "POST", "/v1/verify/wait", {
      items: Array.from({ length: 3 }, () => ({ response: "1", ground_truth: "1" })),
    });
    await new Promise((r) => setTimeout(r, 100));
    expect((await call(p, "GET", "/health")).body.load.wait).toEqual({
      active: 1,
      queued: 2,
      concurrency: 1,
    });
    await s.close();
    await blocked.catch(() => undefined);
    expect(() => new RewardServer({ domains, domainConcurrency: { nope: 2 } })).toThrow(
      /domainConcurrency names unknown domain 'nope'/,
    );
    expect(() => new RewardServer({ domains, domainConcurrency: { math: 0 } })).toThrow(/positive integer/);
  });

  it("the queue bound is per domain: 503 with Retry-After for the full one, the others still served", async () => {
    const w = waiter("wait");
    const s = new RewardServer({
      domains: provider({ math: exactDomain("math"), wait: w.domain }),
      concurrency: 1,
      maxQueuedItems: 3,
    });
    const p = (await s.listen(0)).port;
    const first = call(p, "POST", "/v1/verify/wait", {
      items: [1, 2, 3].map(() => ({ response: "1", ground_truth: "1" })),
    });
    await new Promise((r) => setTimeout(r, 100));
    const full = await call(p, "POST", "/v1/verify/wait", {
      items: [1, 2].map(() => ({ response: "1", ground_truth: "1" })),
    });
    expect(full.status).toBe(503);
    expect(full.body.error).toMatch(/'wait' is busy/);
    expect(Number(full.headers["retry-after"])).toBeGreaterThan(0);
    const m = await call(p, "POST", "/v1/verify/math", {
      items: [1, 2].map(() => ({ response: "1", ground_truth: "1" })),
    });
    expect(m.status).toBe(200);
    expect(m.body.counts.correct).toBe(2);
    await s.close();
    await first.catch(() => undefined);
  });
});

const sandboxReason = sandboxUnavailableReason();
const LABEL = `m2rl-srvtest-${process.pid}`;

describe.skipIf(!!sandboxReason)("reward server: the deadline kills sandboxed programs", () => {
  it("sleeping programs are killed when their request times out, and their slots are free again", async () => {
    const sb = new Sandbox({ concurrency: 2, limits: { wallMs: 30_000 }, bwrap: { hostname: LABEL } });
    const sleepy: Domain<unknown> = {
      name: "code",
      async tasks() {
        return [];
      },
      verify: (input) => verifyCode(sb, input),
    };
    const s = new RewardServer({
      domains: provider({ math: exactDomain("math"), code: sleepy }),
      requestTimeoutMs: 1500,
    });
    const p = (await s.listen(0)).port;
    const gt = { language: "python", tests: [{ input: "", output: "1\n" }] };
    const live = () =>
      execFileSync("ps", ["-eo", "stat,args"], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.includes(LABEL) && !l.trim().startsWith("Z"));
    const r = await call(p, "POST", "/v1/verify/code", {
      items: Array.from({ length: 6 }, () => ({ response: "import time\ntime.sleep(60)", ground_truth: gt })),
    });
    expect(r.body.results.map((x: J) => x.status)).toEqual(Array(6).fill("timeout"));
    const freed = await until(async () => {
      const h = (await call(p, "GET", "/health")).body;
      return h.active === 0 && h.queued === 0 && live().length === 0;
    }, 3000);
    expect(freed, live().join("\n")).toBe(true);
    expect(sb.load).toEqual({ active: 0, pending: 0 });
    await s.close();
    await sb.close();
  });
});
