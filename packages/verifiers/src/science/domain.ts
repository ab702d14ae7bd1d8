/**
 * The science domain: multiple-choice letters and numeric answers with tolerance.
 */
import type { Domain, DomainContext, DomainFactory, Plugin } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import { THINK_GATE_SCHEMA, type ThinkGateMode } from "../common/think.ts";
import { DATA_FILES_SCHEMA, type DataFiles } from "../data/load.ts";
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
    const vo = resolveScienceOptions(options);
    const syn = { ...DEFAULT_SCIENCE_SYNTHETIC, ...options.synthetic };
    return dataOrSyntheticDomain<string>({
      name: "science",
      options,
      context,
      mapGroundTruth: stringGroundTruth,
      synthetic: (name, split, seed, count, template) =>
        scienceSyntheticTasks(name, split, seed, count, syn, template),
      verify: (response, groundTruth) => verifyScience(response, groundTruth, vo),
    });
  },
};

/** Registers the `science` domain. */
export const sciencePlugin: Plugin = domainPlugin("m2rl-domain-science", scienceDomainFactory);
