/**
 * Domain instances of an experiment, by domain id. An id may differ from its verifier's name (two `math` domains
 * with different options), so each instance is wrapped to carry its id: every task, metric and eval row then
 * carries the experiment's domain id.
 *
 * Data files: a split's `file` (`domains.<id>.<split>.file`, with its `format`) is handed to the domain as
 * `options.data.<split>`, so the domain's own loader reads it exactly as it reads `options.data` (verl JSONL /
 * Parquet rows, the domain's ground-truth mapping; eval in file order, train shuffled by the seed; `count` caps).
 * `m2rl validate` refuses a split file for a domain whose factory takes no `data` option, and a split whose file is
 * named both as `<split>.file` and as `options.data.<split>`.
 */

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type {
  Domain,
  DomainConfig,
  ExperimentConfig,
  PluginHost,
  Split,
  Task,
  TaskQuery,
  Verification,
  VerifyInput,
} from "@m2rl/core";
import { ConfigError, validateWithSchema } from "@m2rl/core";
import { type DataFiles, takesDataFiles, withSplitFiles } from "@m2rl/verifiers/data";
import type { PromptFormat } from "./chat.ts";

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

  /** Prompts of the split read from a file, when the other split is generated (loaded once). */
  private filePrompts?: Promise<Set<string>>;

  constructor(
    readonly name: string,
    private readonly inner: Domain,
    private readonly counts: { train?: number; eval?: number },
    /** The splits whose tasks come from a data file. */
    private readonly fromFile: ReadonlySet<Split> = new Set(),
    /** Renders each task's prompt (the model's chat template, `policy.chatTemplate`). */
    private readonly format?: PromptFormat,
  ) {}

  async tasks(query: TaskQuery): Promise<Task[]> {
    const count = query.count ?? this.counts[query.split];
    const other: Split = query.split === "train" ? "eval" : "train";
    const tasks =
      !this.fromFile.has(query.split) && this.fromFile.has(other)
        ? await this.generatedApartFrom(other, { ...query, count })
        : await this.inner.tasks({ ...query, count });
    return tasks.map((t) => {
      const named = t.domain === this.name ? t : { ...t, domain: this.name };
      return this.format ? { ...named, prompt: this.format(named) } : named;
    });
  }

  /**
   * A generated split next to a split read from a file: the generator keeps its own splits disjoint, not apart
   * from a file's rows, so generated tasks whose prompt is one of the file's are dropped (and more drawn).
   */
  private async generatedApartFrom(fileSplit: Split, query: TaskQuery): Promise<Task[]> {
    this.filePrompts ??= this.inner
      .tasks({ split: fileSplit, seed: 0 })
      .then((tasks) => new Set(tasks.map((t) => promptKey(t.prompt))));
    const taken = await this.filePrompts;
    const want = query.count;
    let extra = want === undefined ? 0 : Math.min(taken.size, want);
    for (let attempt = 0; ; attempt++) {
      const asked = want === undefined ? undefined : want + extra;
      const drawn = await this.inner.tasks({ ...query, count: asked });
      const kept = drawn.filter((t) => !taken.has(promptKey(t.prompt)));
      if (want === undefined) return kept;
      // enough, or the generator has no more to give
      if (kept.length >= want || drawn.length < (asked ?? 0) || attempt === 3) return kept.slice(0, want);
      extra = 2 * extra + (want - kept.length);
    }
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
  format?: PromptFormat,
): Promise<Map<string, Domain>> {
  const out = new Map<string, Domain>();
  for (const [id, d] of Object.entries(config.domains)) {
    const factory = host.registry.domains.get(d.verifier);
    let options = structuredClone(d.options);
    // Fill the schema's defaults the way the loader validated them.
    if (factory.optionsSchema) validateWithSchema(d.plugin, factory.optionsSchema, options);
    const fromFile = new Set<Split>();
    if (takesDataFiles(factory.optionsSchema)) {
      options = withSplitFiles(options as { data?: DataFiles }, { train: d.train, eval: d.eval });
      const data = (options as { data?: DataFiles }).data;
      for (const split of ["train", "eval"] as const) if (data?.[split]) fromFile.add(split);
    } else {
      const split = splitWithFile(d);
      if (split)
        throw new ConfigError(
          `domain '${d.verifier}' cannot read data files (its options have no 'data' key)`,
          {
            path: `domains.${id}.${split}.file`,
            plugin: d.plugin,
          },
        );
    }
    const inner = await factory.create(options, {
      baseDir,
      readFile: async (path) => new Uint8Array(await readFile(resolve(baseDir, path))),
    });
    out.set(id, new NamedDomain(id, inner, { train: d.train.count, eval: d.eval.count }, fromFile, format));
  }
  return out;
}

function splitWithFile(d: DomainConfig): Split | undefined {
  return d.train.file !== undefined ? "train" : d.eval.file !== undefined ? "eval" : undefined;
}

/** Prompts compared as text, whitespace runs as one space. */
function promptKey(prompt: string): string {
  return prompt.trim().replace(/\s+/g, " ");
}
