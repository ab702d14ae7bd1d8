/**
 * The math domain: a DomainFactory with the JSON Schema of its options.
 */
import type { Domain, DomainContext, DomainFactory, Plugin } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import type { ThinkGateMode } from "../common/think.ts";
import type { DataFiles } from "../data/load.ts";
import { stringGroundTruth } from "../data/verl.ts";
import { DEFAULT_EQUIV } from "./equiv.ts";
import { DEFAULT_EXTRACTION, type MathExtractor } from "./extract.ts";
import { DEFAULT_MATH_SYNTHETIC, type MathSyntheticOptions, mathSyntheticTasks } from "./generator.ts";
import { MATH_DOMAIN_INFO } from "./schema.ts";
import { type MathVerifyOptions, verifyMath } from "./verify.ts";

export { MATH_OPTIONS_SCHEMA } from "./schema.ts";

export interface MathDomainOptions {
  name?: string;
  thinkGate?: ThinkGateMode;
  extraction?: MathExtractor[];
  tolerance?: number;
  percentAsFraction?: boolean;
  equationRhs?: boolean;
  unorderedLists?: boolean;
  promptTemplate?: string;
  data?: DataFiles;
  synthetic?: Partial<MathSyntheticOptions>;
  /** Number of synthetic tasks when a query gives no count. */
  defaultCount?: number;
}

export function resolveMathOptions(o: MathDomainOptions = {}): MathVerifyOptions {
  return {
    thinkGate: o.thinkGate ?? "optional",
    extraction: o.extraction ?? DEFAULT_EXTRACTION,
    tolerance: o.tolerance ?? DEFAULT_EQUIV.tolerance,
    percentAsFraction: o.percentAsFraction ?? DEFAULT_EQUIV.percentAsFraction,
    equationRhs: o.equationRhs ?? DEFAULT_EQUIV.equationRhs,
    unorderedLists: o.unorderedLists ?? DEFAULT_EQUIV.unorderedLists,
  };
}

export const mathDomainFactory: DomainFactory<MathDomainOptions, string> = {
  ...MATH_DOMAIN_INFO,
  create(options: MathDomainOptions, context: DomainContext): Domain<string> {
    const vo = resolveMathOptions(options);
    const syn = { ...DEFAULT_MATH_SYNTHETIC, ...options.synthetic };
    return dataOrSyntheticDomain<string>({
      name: "math",
      options,
      context,
      mapGroundTruth: stringGroundTruth,
      synthetic: (name, split, seed, count, template) =>
        mathSyntheticTasks(name, split, seed, count, syn, template),
      verify: (response, groundTruth) => verifyMath(response, groundTruth, vo),
    });
  },
};

/** Registers the `math` domain. */
export const mathPlugin: Plugin = domainPlugin("m2rl-domain-math", mathDomainFactory);
