import type { RewardServer } from "@m2rl/verifiers";
import type { Command } from "commander";
import { onAction } from "./action.ts";

export interface ServeOptions {
  port: number;
  host: string;
  token?: string;
  defaultDomain?: string;
  options?: Record<string, Record<string, unknown>>;
  concurrency?: number;
  /** Per-domain concurrency overrides (`code=16`). */
  domainConcurrency?: Record<string, number>;
  /** Items queued per domain before 503 (Retry-After). */
  maxQueuedItems?: number;
  /** verl `data_source` → domain. */
  dataSources?: Record<string, string>;
  maxBodyBytes?: number;
  maxBatch?: number;
  timeoutMs?: number;
  plugin?: string[];
  log?: (line: string) => void;
}

/** A started reward service. */
export interface RunningServe {
  server: RewardServer;
  port: number;
  close(): Promise<void>;
}

/** Starts the reward service; resolves once it listens. */
export async function startServe(o: ServeOptions): Promise<RunningServe> {
  return (await import("./serve-impl.ts")).startServe(o);
}

/** The options of `m2rl serve` as commander parses them. */
export interface ServeCommandOptions {
  port: number;
  host: string;
  token?: string;
  defaultDomain?: string;
  options: string;
  concurrency: number;
  domainConcurrency?: Record<string, number>;
  maxQueuedItems: number;
  dataSource?: Record<string, string>;
  maxBodyBytes: number;
  maxBatch: number;
  timeoutMs: number;
  plugin?: string[];
  quiet?: boolean;
}

/** `name=value` pairs, comma-separated or repeated, into a record (values parsed by `value`). */
export function pairs<T>(what: string, value: (v: string) => T) {
  return (arg: string, previous: Record<string, T> = {}): Record<string, T> => {
    const out = { ...previous };
    for (const part of arg.split(",")) {
      const i = part.indexOf("=");
      if (i <= 0 || i === part.length - 1)
        throw new Error(`${what} wants name=value pairs, got ${JSON.stringify(part)}`);
      out[part.slice(0, i).trim()] = value(part.slice(i + 1).trim());
    }
    return out;
  };
}

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
};

/** `m2rl serve --port N`: the verifiers as an HTTP reward service until SIGINT/SIGTERM. */
export function register(program: Command): void {
  const command = program
    .command("serve")
    .description(
      "serve the verifiers over HTTP: POST /v1/verify/<domain>, OpenRLHF POST /reward, verl POST /verl/compute_score, TRL POST /trl/reward, GET /health",
    )
    .option("--port <n>", "port (0: any free port)", int, 8000)
    .option("--host <addr>", "address to listen on; anything but loopback requires a token", "127.0.0.1")
    .option("--token <secret>", "bearer token required on every request (default: env M2RL_SERVE_TOKEN)")
    .option(
      "--default-domain <name>",
      "domain of /reward and /trl/reward when the request names none (default: math)",
    )
    .option("--options <json>", 'per-domain options as JSON, e.g. {"code":{"reward":"fraction"}}', "{}")
    .option("--concurrency <n>", "verifications at once per domain, across all requests", int, 64)
    .option(
      "--domain-concurrency <domain=n...>",
      "per-domain override of --concurrency (e.g. code=16); comma-separated or repeated",
      pairs("--domain-concurrency", int),
    )
    .option("--max-queued-items <n>", "items queued per domain before 503 with Retry-After", int, 16_384)
    .option(
      "--data-source <name=domain...>",
      "map a verl data_source to a domain (e.g. openai/gsm8k=math); an unmapped, unknown source is refused",
      pairs("--data-source", (v) => v),
    )
    .option("--max-body-bytes <n>", "largest request body (413 beyond)", int, 16 * 1024 * 1024)
    .option("--max-batch <n>", "most items per request (413 beyond)", int, 4096)
    .option(
      "--timeout-ms <n>",
      "deadline per request; unfinished items come back as status timeout",
      int,
      300_000,
    )
    .option("--plugin <module...>", "extra plugin modules (third-party domains)")
    .option("--quiet", "no request log on stderr");
  onAction(command, async (o: ServeCommandOptions) => (await import("./serve-impl.ts")).serve(o));
}
