import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Domain, VERIFICATION_STATUSES, type Verification, type VerificationStatus } from "@m2rl/core";
import { Ajv, type ValidateFunction } from "ajv";
import pLimit, { type LimitFunction } from "p-limit";
import {
  API_VERSION,
  OPENRLHF_REQUEST_SCHEMA,
  TRL_REQUEST_SCHEMA,
  VERIFY_REQUEST_SCHEMA,
  VERL_REQUEST_SCHEMA,
} from "./schemas.ts";

/** Where the server gets its domains: created on first use, kept until `close`. */
export interface DomainProvider {
  names(): string[];
  /** The domain called `name`; rejects with a message (e.g. "unknown domain 'mth' (did you mean 'math'?)"). */
  get(name: string): Promise<Domain>;
}

export interface RewardServerOptions {
  domains: DomainProvider;
  /** Domain of `/reward`, `/trl/reward`, and of verl items that carry neither `data_source` nor `extra_info.domain`. */
  defaultDomain?: string;
  /**
   * verl `data_source` → domain, exact names, consulted before the built-in table (`DATA_SOURCE_RULES`). A verl item
   * whose `data_source` maps nowhere is answered with status `error` (verl itself raises for an unknown source);
   * it is never graded with `defaultDomain`. Every target must be a registered domain (checked by the constructor).
   */
  dataSources?: Record<string, string>;
  /** Bearer token; when set every request except `GET /health` must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body in bytes (413 beyond). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Most items in one request (413 beyond). Default 4096. */
  maxBatch?: number;
  /**
   * Verifications running at once per domain, across all requests. Each domain has its own budget, so a slow domain
   * (code) never holds the slots of a fast one (math). Default 64.
   */
  concurrency?: number;
  /**
   * Per-domain overrides of `concurrency`, e.g. `{code: 16}`. The code domain's sandbox has its own pool (CPU count
   * by default), which bounds how many programs really run; the server's budget only bounds how many wait on it.
   */
  domainConcurrency?: Record<string, number>;
  /**
   * Items of one domain allowed to wait for a slot of that domain; a request that would exceed it gets 503 with a
   * `Retry-After` header (and the other domains are still served). Default 16,384 (four full batches).
   */
  maxQueuedItems?: number;
  /**
   * Deadline of one request: items not verified by then are returned with status `timeout`, and their work is
   * cancelled (queued items never start; running ones get an aborted `signal`, which kills a sandboxed program),
   * so an expired request holds no slot. Default 300 s.
   */
  requestTimeoutMs?: number;
  /** One line per request (method, path, status, items, ms). */
  log?: (line: string) => void;
}

/** Thrown inside a handler to answer with a 4xx/5xx status and a message. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Item {
  domain: string;
  response: string;
  groundTruth: unknown;
  /** Set when the item cannot be graded: answered with status `error`, reward 0 and this message. */
  refused?: string;
}

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = {
  verify: ajv.compile(VERIFY_REQUEST_SCHEMA),
  openrlhf: ajv.compile(OPENRLHF_REQUEST_SCHEMA),
  verl: ajv.compile(VERL_REQUEST_SCHEMA),
  trl: ajv.compile(TRL_REQUEST_SCHEMA),
};

function check<T>(validate: ValidateFunction, body: unknown, what: string): T {
  if (!validate(body)) {
    const e = validate.errors?.[0];
    const where = e?.instancePath || "(body)";
    const extra = e?.params && "additionalProperty" in e.params ? ` '${e.params.additionalProperty}'` : "";
    throw new HttpError(400, `bad ${what} request: ${where} ${e?.message ?? "is invalid"}${extra}`);
  }
  return body as T;
}

/** Is `host` a loopback address (the only place the server listens without a token)? */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The built-in verl `data_source` table: a source whose lower-cased name contains one of the words maps to the
 * domain (first rule wins), when that domain is registered.
 */
export const DATA_SOURCE_RULES: readonly { readonly words: readonly string[]; readonly domain: string }[] = [
  { words: ["ifeval", "instruction"], domain: "ifeval" },
  {
    words: ["code", "apps", "taco", "mbpp", "humaneval", "livecodebench", "primeintellect", "leetcode"],
    domain: "code",
  },
  { words: ["gpqa", "science", "mmlu", "scibench", "chem", "physic", "biolog"], domain: "science" },
  { words: ["math", "gsm8k", "aime", "amc", "numina", "olympiad", "deepscaler", "dapo"], domain: "math" },
];

/**
 * verl `data_source` → domain: `configured` (exact name), else a registered domain's own name, else the built-in
 * table (`DATA_SOURCE_RULES`); undefined when none maps it.
 */
export function domainOfDataSource(
  dataSource: string | undefined,
  known: readonly string[],
  configured: Readonly<Record<string, string>> = {},
): string | undefined {
  if (!dataSource) return undefined;
  if (Object.hasOwn(configured, dataSource)) return configured[dataSource];
  if (known.includes(dataSource)) return dataSource;
  const s = dataSource.toLowerCase();
  for (const { words, domain } of DATA_SOURCE_RULES)
    if (known.includes(domain) && words.some((w) => s.includes(w))) return domain;
  return undefined;
}

/** Why `dataSource` maps to no domain, with everything that is mapped (for verl items answered `error`). */
function unmappedDataSource(
  dataSource: string,
  known: readonly string[],
  configured: Readonly<Record<string, string>>,
): string {
  const conf = Object.entries(configured).map(([k, v]) => `${k} → ${v}`);
  const rules = DATA_SOURCE_RULES.filter((r) => known.includes(r.domain)).map(
    (r) => `${r.words.join("|")} → ${r.domain}`,
  );
  return (
    `data_source '${dataSource}' is not mapped to a domain, so it is not graded (verl raises for an unknown ` +
    `data_source too). Mapped: configured [${conf.join(", ")}]; a registered domain's name [${known.join(", ")}]; ` +
    `names containing [${rules.join("; ")}]. Map it in the server's dataSources option or send extra_info.domain`
  );
}

/**
 * Special tokens that a trainer's `batch_decode(..., skip_special_tokens=False)` leaves around prompt + response:
 * BOS, left/right padding (often the EOS token) and the end-of-turn/EOS token that ends the response.
 */
export const QUERY_EDGE_TOKENS: readonly string[] = [
  "<s>",
  "</s>",
  "<pad>",
  "<unk>",
  "<bos>",
  "<eos>",
  "<|endoftext|>",
  "<|im_end|>",
  "<|begin_of_text|>",
  "<|end_of_text|>",
  "<|eot_id|>",
  "<|finetune_right_pad_id|>",
  "<|pad|>",
  "<|end|>",
  "<end_of_turn>",
  "<｜begin▁of▁sentence｜>",
  "<｜end▁of▁sentence｜>",
];
const edgeToken = QUERY_EDGE_TOKENS.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
const LEADING_EDGE = new RegExp(`^(?:\\s*(?:${edgeToken}))*\\s*`);
const TRAILING_EDGE = new RegExp(`(?:${edgeToken})(?:\\s*(?:${edgeToken}))*\\s*$`);

/**
 * The response inside an OpenRLHF `query` (prompt + response as the trainer decoded them). Normalisation, and
 * nothing else: a leading run of `QUERY_EDGE_TOKENS` and whitespace is removed from both the query and the prompt
 * (left padding, BOS, the space some tokenizers decode after BOS), the query must then start with the prompt
 * exactly, and a trailing run of those tokens (EOS, right padding) is removed from the rest. Returns
 * `{ refused }` when the query does not start with the prompt: grading the whole query would grade the prompt.
 */
export function responseOfQuery(
  query: string,
  prompt: string,
  index = 0,
): { response: string; refused?: undefined } | { response?: undefined; refused: string } {
  const q = query.replace(LEADING_EDGE, "");
  const p = prompt.replace(LEADING_EDGE, "");
  if (!q.startsWith(p)) {
    let at = 0;
    while (at < p.length && q[at] === p[at]) at++;
    return {
      refused:
        `the query does not start with prompts[${index}] (after removing leading BOS/padding tokens): they ` +
        `differ at character ${at} (prompt ${JSON.stringify(p.slice(at, at + 20))}, query ` +
        `${JSON.stringify(q.slice(at, at + 20))}); not graded, since grading the whole query would grade the prompt`,
    };
  }
  return { response: q.slice(p.length).replace(TRAILING_EDGE, "") };
}

/**
 * The M2RL reward service over node:http: the versioned JSON endpoint per domain, and adapters for OpenRLHF's
 * remote reward model, verl's compute_score and TRL's reward functions. Safe by default: loopback unless told
 * otherwise, a bearer token when exposed, bounded body size, batch size, concurrency and queue, a deadline per
 * request, a status per item, 4xx with a message for bad input.
 */
export class RewardServer {
  readonly server: Server;
  private readonly opts: Required<Omit<RewardServerOptions, "token" | "defaultDomain" | "log">> &
    Pick<RewardServerOptions, "token" | "defaultDomain" | "log">;
  /** One limiter per domain, created on the domain's first item. */
  private readonly limits = new Map<string, LimitFunction>();
  /** Requests being verified, aborted by `close`. */
  private readonly inFlight = new Set<AbortController>();
  private readonly tokenDigest?: Buffer;
  private readonly started = Date.now();
  private served = 0;

  constructor(options: RewardServerOptions) {
    this.opts = {
      ...options,
      maxBodyBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
      maxBatch: options.maxBatch ?? 4096,
      concurrency: options.concurrency ?? 64,
      maxQueuedItems: options.maxQueuedItems ?? 16_384,
      requestTimeoutMs: options.requestTimeoutMs ?? 300_000,
      dataSources: { ...options.dataSources },
      domainConcurrency: { ...options.domainConcurrency },
    };
    const names = options.domains.names();
    for (const [source, domain] of Object.entries(this.opts.dataSources))
      if (!names.includes(domain))
        throw new Error(
          `dataSources maps '${source}' to unknown domain '${domain}'; registered: ${names.join(", ")}`,
        );
    for (const [domain, n] of Object.entries({ "": this.opts.concurrency, ...this.opts.domainConcurrency })) {
      if (domain && !names.includes(domain))
        throw new Error(
          `domainConcurrency names unknown domain '${domain}'; registered: ${names.join(", ")}`,
        );
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`concurrency${domain ? ` of '${domain}'` : ""} must be a positive integer, got ${n}`);
    }
    if (options.token !== undefined) {
      if (options.token.length < 16) throw new Error("the bearer token must be at least 16 characters");
      this.tokenDigest = createHash("sha256").update(options.token).digest();
    }
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.fail(res, e));
    });
    this.server.requestTimeout = this.opts.requestTimeoutMs + 30_000;
    this.server.headersTimeout = 30_000;
  }

  /** Starts listening. A non-loopback host without a token is refused. */
  listen(port: number, host = "127.0.0.1"): Promise<AddressInfo> {
    if (!isLoopback(host) && !this.tokenDigest)
      return Promise.reject(
        new Error(`refusing to listen on ${host} without a bearer token (--token or M2RL_SERVE_TOKEN)`),
      );
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    for (const ac of this.inFlight) ac.abort();
    for (const limit of this.limits.values()) limit.clearQueue();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const path = requestPath(req.url ?? "/");
    let items = 0;
    res.on("finish", () => {
      this.served++;
      this.opts.log?.(
        `${req.method} ${path} ${res.statusCode} items=${items} ${Math.round(performance.now() - t0)}ms`,
      );
    });
    if (req.method === "GET" && path === "/health") {
      const load = Object.fromEntries(
        [...this.limits].map(([d, l]) => [
          d,
          { active: l.activeCount, queued: l.pendingCount, concurrency: l.concurrency },
        ]),
      );
      const sum = (k: "active" | "queued") => Object.values(load).reduce((n, x) => n + x[k], 0);
      return this.send(res, 200, {
        status: "ok",
        version: API_VERSION,
        domains: this.opts.domains.names(),
        active: sum("active"),
        queued: sum("queued"),
        load,
        served: this.served,
        uptimeS: Math.round((Date.now() - this.started) / 1000),
      });
    }
    this.authorize(req);
    if (req.method === "GET" && path === "/v1/domains")
      return this.send(res, 200, { version: API_VERSION, domains: this.opts.domains.names() });

    const route = matchRoute(path);
    if (!route) throw new HttpError(404, `no such endpoint: ${path} (see GET /health for the domains)`);
    if (req.method !== "POST") throw new HttpError(405, `${path} takes POST`, { allow: "POST" });
    const body = await this.readJson(req);
    const build = (): { items: Item[]; reply: (v: Verification[]) => unknown } => {
      switch (route.kind) {
        case "verify":
          return this.verifyEndpoint(route.domain as string, body);
        case "openrlhf":
          return this.openrlhfEndpoint(route.domain, body);
        case "verl":
          return this.verlEndpoint(body);
        case "trl":
          return this.trlEndpoint(route.domain, body);
      }
    };
    const { items: batch, reply } = build();
    items = batch.length;
    if (batch.length > this.opts.maxBatch)
      throw new HttpError(413, `batch of ${batch.length} items exceeds the limit of ${this.opts.maxBatch}`);
    const verifications = await this.verifyAll(batch);
    this.send(res, 200, reply(verifications));
  }

  private verifyEndpoint(domain: string, body: unknown) {
    const b = check<{ items: { id?: string | number; response: string; ground_truth: unknown }[] }>(
      validators.verify,
      body,
      "verify",
    );
    return {
      items: b.items.map((it) => ({ domain, response: it.response, groundTruth: it.ground_truth })),
      reply: (vs: Verification[]) => ({
        version: API_VERSION,
        domain,
        results: vs.map((v, i) => ({
          ...(b.items[i]?.id !== undefined ? { id: b.items[i]?.id } : {}),
          reward: v.reward,
          status: v.status,
          extracted: v.extracted ?? null,
          detail: v.detail ?? null,
        })),
        counts: countStatuses(vs),
      }),
    };
  }

  private openrlhfEndpoint(routeDomain: string | undefined, body: unknown) {
    const b = check<{ query: string[]; prompts?: string[]; labels?: unknown[]; metas?: unknown[] }>(
      validators.openrlhf,
      body,
      "OpenRLHF",
    );
    const n = b.query.length;
    if (!b.labels) throw new HttpError(400, "bad OpenRLHF request: 'labels' (the ground truths) is required");
    for (const [k, v] of [
      ["prompts", b.prompts],
      ["labels", b.labels],
      ["metas", b.metas],
    ] as const)
      if (v && v.length !== n)
        throw new HttpError(400, `bad OpenRLHF request: ${k} has ${v.length} items, query has ${n}`);
    if (!b.prompts)
      throw new HttpError(
        400,
        "bad OpenRLHF request: 'prompts' is required: each query is prompt + response and only the response is " +
          "graded (send prompts, or POST bare responses to /v1/verify/<domain>)",
      );
    const prompts = b.prompts;
    const items = b.query.map((q, i): Item => {
      const meta = b.metas?.[i] as { domain?: unknown } | undefined;
      const { response, refused } = responseOfQuery(q, prompts[i] as string, i);
      return {
        domain: this.pickDomain(typeof meta?.domain === "string" ? meta.domain : undefined, routeDomain),
        response: response ?? "",
        groundTruth: b.labels?.[i],
        refused,
      };
    });
    return {
      items,
      reply: (vs: Verification[]) => {
        const rewards = vs.map((v) => v.reward);
        const extra: Record<string, number[]> = {};
        for (const s of VERIFICATION_STATUSES) extra[`status_${s}`] = vs.map((v) => (v.status === s ? 1 : 0));
        return {
          rewards,
          scores: rewards,
          extra_logs: extra,
          statuses: vs.map((v) => v.status),
          details: vs.map((v) => v.detail ?? null),
        };
      },
    };
  }

  private verlEndpoint(body: unknown) {
    const b = check<{
      items: {
        data_source?: string;
        solution_str: string;
        ground_truth: unknown;
        extra_info?: { domain?: unknown } | null;
      }[];
    }>(validators.verl, body, "verl");
    const known = this.opts.domains.names();
    const configured = this.opts.dataSources;
    const items = b.items.map((it, i): Item => {
      const base = { response: it.solution_str, groundTruth: it.ground_truth };
      const named = typeof it.extra_info?.domain === "string" ? it.extra_info.domain : undefined;
      if (named) return { ...base, domain: named };
      if (it.data_source !== undefined) {
        const mapped = domainOfDataSource(it.data_source, known, configured);
        if (mapped) return { ...base, domain: mapped };
        return { ...base, domain: "", refused: unmappedDataSource(it.data_source, known, configured) };
      }
      if (!this.opts.defaultDomain)
        throw new HttpError(
          400,
          `bad verl request: /items/${i} names no domain (data_source or extra_info.domain) and the server has no default`,
        );
      return { ...base, domain: this.opts.defaultDomain };
    });
    return {
      items,
      reply: (vs: Verification[]) => ({
        results: vs.map((v, i) => ({
          score: v.reward,
          status: v.status,
          domain: items[i]?.refused === undefined ? items[i]?.domain : null,
          extracted: v.extracted ?? null,
          detail: v.detail ?? null,
        })),
      }),
    };
  }

  private trlEndpoint(routeDomain: string | undefined, body: unknown) {
    const b = check<{
      completions: (string | { content: string }[])[];
      ground_truth: unknown[];
      domain?: string[];
    }>(validators.trl, body, "TRL");
    const n = b.completions.length;
    if (b.ground_truth.length !== n)
      throw new HttpError(
        400,
        `bad TRL request: ground_truth has ${b.ground_truth.length} items, completions has ${n}`,
      );
    if (b.domain && b.domain.length !== n)
      throw new HttpError(400, `bad TRL request: domain has ${b.domain.length} items, completions has ${n}`);
    const items = b.completions.map((c, i) => ({
      domain: this.pickDomain(b.domain?.[i], routeDomain),
      response: typeof c === "string" ? c : (c[c.length - 1]?.content ?? ""),
      groundTruth: b.ground_truth[i],
    }));
    return {
      items,
      reply: (vs: Verification[]) => ({
        rewards: vs.map((v) => v.reward),
        statuses: vs.map((v) => v.status),
      }),
    };
  }

  private pickDomain(itemDomain: string | undefined, routeDomain: string | undefined): string {
    const d = itemDomain ?? routeDomain ?? this.opts.defaultDomain;
    if (!d)
      throw new HttpError(
        400,
        "no domain: name one in the path (/reward/<domain>) or start the server with a default",
      );
    return d;
  }

  /** The limiter of `domain`: its own budget, so that one domain's slow items never hold another's slots. */
  private limiterOf(domain: string): LimitFunction {
    let limit = this.limits.get(domain);
    if (!limit) {
      const concurrency = this.opts.domainConcurrency[domain] ?? this.opts.concurrency;
      limit = pLimit({ concurrency, rejectOnClear: true });
      this.limits.set(domain, limit);
    }
    return limit;
  }

  /**
   * Verifies every item under its domain's concurrency limit. At the deadline the request's signal aborts: items
   * unfinished then get `timeout`, queued ones never start and running ones are told to stop (`VerifyInput.signal`).
   */
  private async verifyAll(items: Item[]): Promise<Verification[]> {
    // Resolve every domain first, so that an unknown domain is a 404 before any work starts.
    const perDomain = new Map<string, number>();
    for (const it of items)
      if (it.refused === undefined) perDomain.set(it.domain, (perDomain.get(it.domain) ?? 0) + 1);
    const domains = new Map<string, Domain>();
    for (const n of perDomain.keys()) {
      try {
        domains.set(n, await this.opts.domains.get(n));
      } catch (e) {
        throw new HttpError(404, (e as Error).message);
      }
    }
    for (const [n, count] of perDomain) {
      const limit = this.limiterOf(n);
      if (limit.pendingCount + count > this.opts.maxQueuedItems)
        throw new HttpError(
          503,
          `server busy: domain '${n}' is busy (${limit.activeCount} items running, ${limit.pendingCount} queued, ` +
            `at most ${this.opts.maxQueuedItems} may wait); retry later`,
          { "retry-after": String(this.retryAfterS()) },
        );
    }
    const results: (Verification | undefined)[] = items.map((it) =>
      it.refused === undefined ? undefined : { reward: 0, status: "error", detail: it.refused },
    );
    const ac = new AbortController();
    const signal = ac.signal;
    this.inFlight.add(ac);
    const timer = setTimeout(() => ac.abort(), this.opts.requestTimeoutMs);
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
    const all = Promise.all(
      items.map(
        (it, i) =>
          it.refused !== undefined
            ? undefined
            : this.limiterOf(it.domain)(async () => {
                if (signal.aborted) return; // expired while it waited: give the slot back at once
                const domain = domains.get(it.domain) as Domain;
                try {
                  const v = await domain.verify({
                    response: it.response,
                    groundTruth: it.groundTruth,
                    signal,
                  });
                  if (!signal.aborted) results[i] = v;
                } catch (e) {
                  if (!signal.aborted)
                    results[i] = {
                      reward: 0,
                      status: "error",
                      detail: `verifier threw: ${(e as Error).message}`,
                    };
                }
              }).catch(() => undefined), // the queue was cleared by close()
      ),
    );
    try {
      await Promise.race([all, aborted]);
    } finally {
      clearTimeout(timer);
      // Anything still queued or running belongs to a request that is answered now: cancel it.
      ac.abort();
      this.inFlight.delete(ac);
    }
    return results.map(
      (v) =>
        v ?? {
          reward: 0,
          status: "timeout",
          detail: `not verified within the server deadline (${this.opts.requestTimeoutMs} ms)`,
        },
    );
  }

  /** Seconds a client refused with 503 should wait: a tenth of the deadline, between 1 and 30. */
  private retryAfterS(): number {
    return Math.min(30, Math.max(1, Math.ceil(this.opts.requestTimeoutMs / 10_000)));
  }

  private authorize(req: IncomingMessage): void {
    if (!this.tokenDigest) return;
    const h = req.headers.authorization ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) throw new HttpError(401, "missing bearer token", { "www-authenticate": "Bearer" });
    const got = createHash("sha256")
      .update(m[1] as string)
      .digest();
    if (!timingSafeEqual(got, this.tokenDigest))
      throw new HttpError(401, "bad bearer token", { "www-authenticate": "Bearer" });
  }

  private readJson(req: IncomingMessage): Promise<unknown> {
    const max = this.opts.maxBodyBytes;
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > max)
      return Promise.reject(
        new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${max}`),
      );
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      req.on("data", (c: Buffer) => {
        if (done) return;
        size += c.length;
        if (size > max) {
          done = true;
          reject(new HttpError(413, `request body exceeds the limit of ${max} bytes`));
          return;
        }
        chunks.push(c);
      });
      req.on("error", (e) => {
        if (!done) {
          done = true;
          reject(new HttpError(400, `cannot read the request: ${e.message}`));
        }
      });
      req.on("end", () => {
        if (done) return;
        done = true;
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new HttpError(400, `request body is not JSON: ${(e as Error).message}`));
        }
      });
    });
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (e instanceof HttpError) {
      // After a 413 the rest of the body is not read: close the connection instead of draining it.
      const headers = e.status === 413 ? { ...e.headers, connection: "close" } : e.headers;
      this.send(res, e.status, { error: e.message }, headers);
      if (e.status === 413) res.once("finish", () => res.req.destroy());
      return;
    }
    this.send(res, 500, { error: `internal error: ${(e as Error)?.message ?? String(e)}` });
  }
}

type Route =
  | { kind: "verify"; domain: string }
  | { kind: "openrlhf"; domain?: string }
  | { kind: "verl" }
  | { kind: "trl"; domain?: string };

function matchRoute(path: string): Route | undefined {
  let m = /^\/v1\/verify\/([A-Za-z0-9_.:@/-]+)$/.exec(path);
  if (m) return { kind: "verify", domain: decodeURIComponent(m[1] as string) };
  m = /^\/(?:reward|get_reward)(?:\/([A-Za-z0-9_.:@-]+))?$/.exec(path);
  if (m) return { kind: "openrlhf", domain: m[1] };
  if (path === "/verl/compute_score") return { kind: "verl" };
  m = /^\/trl\/reward(?:\/([A-Za-z0-9_.:@-]+))?$/.exec(path);
  if (m) return { kind: "trl", domain: m[1] };
  return undefined;
}

/**
 * The path of an origin-form request target (`/v1/verify/math?x`), without trailing slashes. Any other form
 * (absolute-form `http://host/health`, authority-form, a target not starting with `/`) is a 400: this service is
 * no proxy, and a target it cannot parse must never be a 500.
 */
function requestPath(target: string): string {
  if (!target.startsWith("/"))
    throw new HttpError(
      400,
      `unsupported request target ${JSON.stringify(target.slice(0, 200))}: send the path only (origin-form, e.g. /health)`,
    );
  let pathname: string;
  try {
    // Prefixing the origin keeps a target like //x/health a path (new URL with a base would read x as a host).
    pathname = new URL(`http://localhost${target}`).pathname;
  } catch {
    throw new HttpError(400, `bad request target ${JSON.stringify(target.slice(0, 200))}`);
  }
  return pathname.replace(/\/+$/, "") || "/";
}

function countStatuses(vs: Verification[]): Record<VerificationStatus, number> {
  const c = Object.fromEntries(VERIFICATION_STATUSES.map((s) => [s, 0])) as Record<
    VerificationStatus,
    number
  >;
  for (const v of vs) c[v.status]++;
  return c;
}
