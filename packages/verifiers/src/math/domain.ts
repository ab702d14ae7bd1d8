/**
 * The math domain: a DomainFactory with the JSON Schema of its options.
 */
import { type Domain, type DomainContext, type DomainFactory, type Plugin, withDefaults } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import { stringGroundTruth } from "../data/verl.ts";
import { mathSyntheticTasks } from "./generator.ts";
import { MATH_DOMAIN_INFO, MATH_OPTIONS, type MathDomainOptions } from "./schema.ts";
import { type MathVerifyOptions, verifyMath } from "./verify.ts";

export {
  MATH_OPTIONS,
  MATH_OPTIONS_SCHEMA,
  type MathDomainOptions,
  type ResolvedMathDomainOptions,
} from "./schema.ts";

/** The verifier's options from the domain's options (the declaration's defaults for keys not given). */
export function resolveMathOptions(o: MathDomainOptions = {}): MathVerifyOptions {
  const { thinkGate, extraction, tolerance, percentAsFraction, equationRhs, unorderedLists } = withDefaults(
    MATH_OPTIONS,
    o,
  );
  return { thinkGate, extraction, tolerance, percentAsFraction, equationRhs, unorderedLists };
}

export const mathDomainFactory: DomainFactory<MathDomainOptions, string> = {
  ...MATH_DOMAIN_INFO,
  create(options: MathDomainOptions, context: DomainContext): Domain<string> {
    const o = withDefaults(MATH_OPTIONS, options);
    const vo = resolveMathOptions(o);
    const syn = o.synthetic;
    return dataOrSyntheticDomain<string>({
      name: "math",
      options: o,
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
