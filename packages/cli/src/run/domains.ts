/**
 * Domain instances of an experiment, by domain id. An id may differ from its verifier's name (two `math` domains
 * with different options), so each instance is wrapped to carry its id: every task, metric and eval row then
 * carries the experiment's domain id.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Domain, ExperimentConfig, PluginHost, Task, TaskQuery } from "@m2rl/core";
import { validateWithSchema } from "@m2rl/core";

class NamedDomain implements Domain {
  constructor(
    readonly name: string,
    private readonly inner: Domain,
    private readonly counts: { train?: number; eval?: number },
  ) {}

  async tasks(query: TaskQuery): Promise<Task[]> {
    const count = query.count ?? this.counts[query.split];
    const tasks = await this.inner.tasks({ ...query, count });
    return tasks.map((t) => (t.domain === this.name ? t : { ...t, domain: this.name }));
  }

  verify: Domain["verify"] = (input) => this.inner.verify(input);

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** Creates every domain of the experiment (options already validated by the loader). */
export async function createDomains(
  config: ExperimentConfig,
  host: PluginHost,
  baseDir: string,
): Promise<Map<string, Domain>> {
  const out = new Map<string, Domain>();
  for (const [id, d] of Object.entries(config.domains)) {
    const factory = host.registry.domains.get(d.verifier);
    const options = structuredClone(d.options);
    // Fill the schema's defaults the way the loader validated them.
    if (factory.optionsSchema) validateWithSchema(d.plugin, factory.optionsSchema, options);
    const inner = await factory.create(options, {
      baseDir,
      readFile: async (path) => new Uint8Array(await readFile(resolve(baseDir, path))),
    });
    out.set(id, new NamedDomain(id, inner, { train: d.train.count, eval: d.eval.count }));
  }
  return out;
}
