/**
 * The shape every string-answer domain shares: tasks from data files when the options name them (verl JSONL /
 * Parquet), else from the domain's seeded synthetic generator; a synchronous verifier whose unexpected throw becomes
 * status `error` (never a silent 0); a plugin that registers the factory. Math, science and IFEval are built on it.
 */
import type { Domain, DomainContext, DomainFactory, Plugin, Split, Task, Verification } from "@m2rl/core";
import { type DataFiles, loadSplit } from "../data/load.ts";
import type { GroundTruthMapper } from "../data/verl.ts";

/** Options every such domain accepts (each adds its own). */
export interface DataOrSyntheticOptions {
  /** Domain name on tasks and metrics (default: the factory's). */
  name?: string;
  data?: DataFiles;
  promptTemplate?: string;
  /** Tasks per split when the query gives no count (default 2000 train, 200 eval). */
  defaultCount?: number;
}

export interface DataOrSyntheticSpec<G> {
  /** Default domain name, also used in error details. */
  name: string;
  options: DataOrSyntheticOptions;
  context: DomainContext;
  mapGroundTruth: GroundTruthMapper<G>;
  synthetic(name: string, split: Split, seed: number, count: number, template?: string): Task<G>[];
  verify(response: string, groundTruth: G): Verification;
}

export function dataOrSyntheticDomain<G>(spec: DataOrSyntheticSpec<G>): Domain<G> {
  const { options, context } = spec;
  const name = options.name ?? spec.name;
  return {
    name,
    async tasks(query) {
      const fromData = options.data
        ? await loadSplit(options.data, query, {
            domain: name,
            context,
            template: options.promptTemplate,
            mapGroundTruth: spec.mapGroundTruth,
          })
        : undefined;
      if (fromData) return fromData;
      const count = query.count ?? options.defaultCount ?? (query.split === "train" ? 2000 : 200);
      return spec.synthetic(name, query.split, query.seed, count, options.promptTemplate);
    },
    async verify({ response, groundTruth }) {
      try {
        return spec.verify(response, groundTruth);
      } catch (e) {
        return {
          reward: 0,
          status: "error",
          detail: `${spec.name} verifier failed: ${(e as Error).message}`,
        };
      }
    },
  };
}

/** A plugin that registers one domain factory under the plugin's name. */
export function domainPlugin<O, G>(pluginName: string, factory: DomainFactory<O, G>): Plugin {
  return {
    name: pluginName,
    apply(host) {
      host.registry.domains.register(pluginName, factory as DomainFactory);
    },
  };
}
