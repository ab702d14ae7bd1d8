/**
 * The science domain: multiple-choice letters and numeric answers with tolerance.
 */
import type { Domain, DomainContext, DomainFactory, Plugin } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import type { ThinkGateMode } from "../common/think.ts";
import type { DataFiles } from "../data/load.ts";
import { stringGroundTruth } from "../data/verl.ts";
import {
  DEFAULT_SCIENCE_SYNTHETIC,
  type ScienceSyntheticOptions,
  scienceSyntheticTasks,
} from "./generator.ts";
import { SCIENCE_DOMAIN_INFO } from "./schema.ts";
import { DEFAULT_SCIENCE_OPTIONS, type ScienceOptions, verifyScience } from "./verify.ts";

export { SCIENCE_OPTIONS_SCHEMA } from "./schema.ts";

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

export function resolveScienceOptions(o: ScienceDomainOptions = {}): ScienceOptions {
  return {
    thinkGate: o.thinkGate ?? DEFAULT_SCIENCE_OPTIONS.thinkGate,
    maxChoices: o.maxChoices ?? DEFAULT_SCIENCE_OPTIONS.maxChoices,
    heuristics: o.heuristics ?? DEFAULT_SCIENCE_OPTIONS.heuristics,
    relTolerance: o.relTolerance ?? DEFAULT_SCIENCE_OPTIONS.relTolerance,
  };
}

export const scienceDomainFactory: DomainFactory<ScienceDomainOptions, string> = {
  ...SCIENCE_DOMAIN_INFO,
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
