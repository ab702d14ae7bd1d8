/**
 * Domain instances of an experiment, by domain id. An id may differ from its verifier's name (two `math` domains
 * with different options), so each instance is wrapped to carry its id: every task, metric and eval row then
 * carries the experiment's domain id.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type {
  Domain,
  ExperimentConfig,
  PluginHost,
  Task,
  TaskQuery,
  Verification,
  VerifyInput,
} from "@m2rl/core";
import { validateWithSchema } from "@m2rl/core";

/** Verifications kept per domain (least recently used dropped first). */
const CACHE_SIZE = 50_000;

class NamedDomain implements Domain {
  /**
   * A tiny policy repeats itself: most of a group's samples are the same few strings, and a code verification
   * costs a sandboxed process. Verdicts that depend only on (response, ground truth) — correct, incorrect,
   * unparsable — are cached; timeouts and errors are not (they may be transient). Programs that print random output
   * would be graded once per distinct text: the synthetic tasks have none.
   */
  private readonly cache = new Map<string, Verification>();

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

  async verify(input: VerifyInput): Promise<Verification> {
    const key = `${input.response}\u0000${JSON.stringify(input.groundTruth)}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { ...hit };
    }
    const v = await this.inner.verify(input);
    if (v.status === "correct" || v.status === "incorrect" || v.status === "unparsable") {
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, v);
    }
    return { ...v };
  }

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
