/** `m2rl serve`: the reward service over the verifiers, loaded when the command runs (or startServe is called). */
import type { Domain, PluginHost } from "@m2rl/core";
import { type DomainProvider, isLoopback, RewardServer } from "@m2rl/verifiers";
import type { RunningServe, ServeCommandOptions, ServeOptions } from "./serve.ts";
import { createDomain, verifierHost } from "./verify-impl.ts";

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

/** Starts the reward service; resolves once it listens. */
export async function startServe(o: ServeOptions): Promise<RunningServe> {
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
    domainConcurrency: o.domainConcurrency,
    maxQueuedItems: o.maxQueuedItems,
    dataSources: o.dataSources,
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

/** `m2rl serve`: serves until SIGINT/SIGTERM; resolves to 2 when the service cannot start, else 0. */
export async function serve(o: ServeCommandOptions): Promise<number> {
  let running: RunningServe;
  try {
    running = await startServe({
      ...o,
      options: JSON.parse(o.options) as Record<string, Record<string, unknown>>,
      dataSources: o.dataSource,
      log: o.quiet ? undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
  } catch (e) {
    process.stderr.write(`m2rl serve: ${(e as Error).message}\n`);
    return 2;
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
  return 0;
}
