/**
 * The science domain: multiple-choice letters and numeric answers with tolerance.
 */
import type { Domain, DomainContext, DomainFactory, Plugin, TaskQuery } from "@m2rl/core";
import { THINK_GATE_SCHEMA, type ThinkGateMode } from "../common/think.ts";
import { DATA_FILES_SCHEMA, type DataFiles, loadSplit } from "../data/load.ts";
import { stringGroundTruth } from "../data/verl.ts";
import {
  DEFAULT_SCIENCE_SYNTHETIC,
  SCIENCE_SYNTHETIC_SCHEMA,
  type ScienceSyntheticOptions,
  scienceSyntheticTasks,
} from "./generator.ts";
import { DEFAULT_SCIENCE_OPTIONS, type ScienceOptions, verifyScience } from "./verify.ts";

export interface ScienceDomainOptions {
  name?: string;
  thinkGate?: ThinkGateMode;
  maxChoices?: number;
  heuristics?: boolean;
  relTolerance?: number;
  promptTemplate?: string;
  data?: DataFiles;
  synthetic?: Partial<ScienceSyntheticOptions>;
  defaultCount?: number;
}

export const SCIENCE_OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, description: "domain name (default: science)" },
    thinkGate: THINK_GATE_SCHEMA,
    maxChoices: {
      type: "integer",
      minimum: 2,
      maximum: 26,
      description: "letters A.. accepted (default 10: A-J)",
    },
    heuristics: {
      type: "boolean",
      description: "last-line / parenthesised / trailing letter fallbacks (default true)",
    },
    relTolerance: { type: "number", minimum: 0, maximum: 1, description: "numeric answers (default 0.01)" },
    promptTemplate: { type: "string" },
    data: DATA_FILES_SCHEMA,
    synthetic: SCIENCE_SYNTHETIC_SCHEMA,
    defaultCount: { type: "integer", minimum: 1 },
  },
} as const;

export function resolveScienceOptions(o: ScienceDomainOptions = {}): ScienceOptions {
  return {
    thinkGate: o.thinkGate ?? DEFAULT_SCIENCE_OPTIONS.thinkGate,
    maxChoices: o.maxChoices ?? DEFAULT_SCIENCE_OPTIONS.maxChoices,
    heuristics: o.heuristics ?? DEFAULT_SCIENCE_OPTIONS.heuristics,
    relTolerance: o.relTolerance ?? DEFAULT_SCIENCE_OPTIONS.relTolerance,
  };
}

export const scienceDomainFactory: DomainFactory<ScienceDomainOptions, string> = {
  name: "science",
  description: "Science: multiple-choice letter extraction and numeric answers with relative tolerance",
  optionsSchema: SCIENCE_OPTIONS_SCHEMA,
  create(options: ScienceDomainOptions, context: DomainContext): Domain<string> {
    const name = options.name ?? "science";
    const vo = resolveScienceOptions(options);
    const syn = { ...DEFAULT_SCIENCE_SYNTHETIC, ...options.synthetic };
    return {
      name,
      async tasks(query: TaskQuery) {
        const fromData = options.data
          ? await loadSplit(options.data, query, {
              domain: name,
              context,
              template: options.promptTemplate,
              mapGroundTruth: stringGroundTruth,
            })
          : undefined;
        if (fromData) return fromData;
        const count = query.count ?? options.defaultCount ?? (query.split === "train" ? 2000 : 200);
        return scienceSyntheticTasks(name, query.split, query.seed, count, syn, options.promptTemplate);
      },
      async verify({ response, groundTruth }) {
        try {
          return verifyScience(response, groundTruth, vo);
        } catch (e) {
          return { reward: 0, status: "error", detail: `science verifier failed: ${(e as Error).message}` };
        }
      },
    };
  },
};

/** Registers the `science` domain. */
export const sciencePlugin: Plugin = {
  name: "m2rl-domain-science",
  apply(host) {
    host.registry.domains.register("m2rl-domain-science", scienceDomainFactory);
  },
};
