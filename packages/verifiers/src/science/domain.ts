/**
 * The science domain: multiple-choice letters and numeric answers with tolerance.
 */
import { type Domain, type DomainContext, type DomainFactory, type Plugin, withDefaults } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import { stringGroundTruth } from "../data/verl.ts";
import { scienceSyntheticTasks } from "./generator.ts";
import { SCIENCE_DOMAIN_INFO, SCIENCE_OPTIONS, type ScienceDomainOptions } from "./schema.ts";
import { type ScienceOptions, verifyScience } from "./verify.ts";

export {
  type ResolvedScienceDomainOptions,
  SCIENCE_OPTIONS,
  SCIENCE_OPTIONS_SCHEMA,
  type ScienceDomainOptions,
} from "./schema.ts";

/** The verifier's options from the domain's options (the declaration's defaults for keys not given). */
export function resolveScienceOptions(o: ScienceDomainOptions = {}): ScienceOptions {
  const { thinkGate, maxChoices, heuristics, relTolerance } = withDefaults(SCIENCE_OPTIONS, o);
  return { thinkGate, maxChoices, heuristics, relTolerance };
}

export const scienceDomainFactory: DomainFactory<ScienceDomainOptions, string> = {
  ...SCIENCE_DOMAIN_INFO,
  create(options: ScienceDomainOptions, context: DomainContext): Domain<string> {
    const o = withDefaults(SCIENCE_OPTIONS, options);
    const vo = resolveScienceOptions(o);
    const syn = o.synthetic;
    return dataOrSyntheticDomain<string>({
      name: "science",
      options: o,
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
