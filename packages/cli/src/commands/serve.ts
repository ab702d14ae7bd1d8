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
  maxBodyBytes: number;
  maxBatch: number;
  timeoutMs: number;
  plugin?: string[];
  quiet?: boolean;
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
    .option("--concurrency <n>", "verifications at once across all requests", int, 64)
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
