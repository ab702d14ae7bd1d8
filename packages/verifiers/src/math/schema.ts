/**
 * The math domain's name, description and options schema: what validating an experiment needs, without the
 * verifier (domain.ts builds the domain from these).
 */
import { THINK_GATE_SCHEMA } from "../common/think.ts";
import { DATA_FILES_SCHEMA } from "../data/schema.ts";
import { MATH_EXTRACTORS } from "./extract.ts";
import { MATH_SYNTHETIC_SCHEMA } from "./generator.ts";

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

/** Name, description and options schema of the `math` domain factory. */
export const MATH_DOMAIN_INFO = {
  name: "math",
  description:
    "Math answers: \\boxed{} / answer phrase / last number; numeric, symbolic and structural equivalence",
  optionsSchema: MATH_OPTIONS_SCHEMA,
} as const;
