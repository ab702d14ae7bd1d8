import type { Domain, PluginHost } from "@m2rl/core";
import { type DomainProvider, isLoopback, RewardServer } from "@m2rl/verifiers";
import type { Command } from "commander";
import { setExitCode } from "../main.ts";
import { createDomain, verifierHost } from "./verify.ts";

/** Domains of a plugin host, each created on first use with its options (validated against its schema). */
export function hostDomains(
  host: PluginHost,
  options: Record<string, Record<string, unknown>> = {},
): DomainProvider & {
  closeAll(): Promise<void>;
} {
  const created = new Map<string, Promise<Domain>>();
  return {
    names: () => host.registry.domains.names(),
    get(name) {
      let d = created.get(name);
      if (!d) {
        d = createDomain(host, name, options[name] ?? {});
        created.set(name, d);
        d.catch(() => created.delete(name));
      }
      return d;
    },
    async closeAll() {
      for (const d of created.values()) await (await d.catch(() => undefined))?.close?.();
      created.clear();
    },
  };
}

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

/** Starts the reward service; resolves once it listens. */
export async function startServe(
  o: ServeOptions,
): Promise<{ server: RewardServer; port: number; close(): Promise<void> }> {
  const token = o.token ?? process.env.M2RL_SERVE_TOKEN;
  if (!isLoopback(o.host) && !token)
    throw new Error(
      `--host ${o.host} exposes the service: a bearer token is required (--token or M2RL_SERVE_TOKEN)`,
    );
  const host = await verifierHost(o.plugin);
  const domains = hostDomains(host, o.options);
  const names = domains.names();
  for (const d of Object.keys(o.options ?? {}))
    if (!names.includes(d))
      throw new Error(`--options names unknown domain '${d}'; registered: ${names.join(", ")}`);
  const defaultDomain = o.defaultDomain ?? (names.includes("math") ? "math" : undefined);
  if (defaultDomain && !names.includes(defaultDomain))
    throw new Error(`--default-domain '${defaultDomain}' is not registered; registered: ${names.join(", ")}`);
  const server = new RewardServer({
    domains,
    defaultDomain,
    token,
    concurrency: o.concurrency,
    maxBodyBytes: o.maxBodyBytes,
    maxBatch: o.maxBatch,
    requestTimeoutMs: o.timeoutMs,
    log: o.log,
  });
  const addr = await server.listen(o.port, o.host);
  return {
    server,
    port: addr.port,
    async close() {
      await server.close();
      await domains.closeAll();
    },
  };
}

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
};

/** `m2rl serve --port N`: the verifiers as an HTTP reward service until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
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
    .option("--quiet", "no request log on stderr")
    .action(
      async (
        o: {
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
        },
        command: Command,
      ) => {
        let running: Awaited<ReturnType<typeof startServe>>;
        try {
          running = await startServe({
            ...o,
            options: JSON.parse(o.options) as Record<string, Record<string, unknown>>,
            log: o.quiet
              ? undefined
              : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
          });
        } catch (e) {
          process.stderr.write(`m2rl serve: ${(e as Error).message}\n`);
          return setExitCode(command, 2);
        }
        process.stderr.write(
          `m2rl serve: listening on http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${running.port} (GET /health)\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            resolve();
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
        process.stderr.write("m2rl serve: shutting down\n");
        await running.close();
      },
    );
}
