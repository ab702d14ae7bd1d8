/**
 * The math domain: a DomainFactory with the JSON Schema of its options.
 */
import type { Domain, DomainContext, DomainFactory, Plugin } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import { THINK_GATE_SCHEMA, type ThinkGateMode } from "../common/think.ts";
import { DATA_FILES_SCHEMA, type DataFiles } from "../data/load.ts";
import { stringGroundTruth } from "../data/verl.ts";
import { DEFAULT_EQUIV } from "./equiv.ts";
import { DEFAULT_EXTRACTION, MATH_EXTRACTORS, type MathExtractor } from "./extract.ts";
import {
  DEFAULT_MATH_SYNTHETIC,
  MATH_SYNTHETIC_SCHEMA,
  type MathSyntheticOptions,
  mathSyntheticTasks,
} from "./generator.ts";
import { type MathVerifyOptions, verifyMath } from "./verify.ts";

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

export const MATH_OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, description: "domain name (default: math)" },
    thinkGate: THINK_GATE_SCHEMA,
    extraction: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", enum: [...MATH_EXTRACTORS] },
      description: "extractors in order; default boxed, answer_phrase, last_number",
    },
    tolerance: { type: "number", minimum: 0, maximum: 0.1, description: "relative tolerance, default 1e-6" },
    percentAsFraction: { type: "boolean" },
    equationRhs: { type: "boolean" },
    unorderedLists: { type: "boolean" },
    promptTemplate: { type: "string", description: "template with {prompt}" },
    data: DATA_FILES_SCHEMA,
    synthetic: MATH_SYNTHETIC_SCHEMA,
    defaultCount: { type: "integer", minimum: 1 },
  },
} as const;

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
  name: "math",
  description:
    "Math answers: \\boxed{} / answer phrase / last number; numeric, symbolic and structural equivalence",
  optionsSchema: MATH_OPTIONS_SCHEMA,
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
