/**
 * The ifeval domain's name, description and options schema: what validating an experiment needs, without the
 * verifier (domain.ts builds the domain from these).
 */
import { THINK_GATE_SCHEMA } from "../common/think.ts";
import { DATA_FILES_SCHEMA } from "../data/schema.ts";
import { IF_SYNTHETIC_SCHEMA } from "./generator.ts";

export const IFEVAL_OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, description: "domain name (default: ifeval)" },
    mode: { type: "string", enum: ["strict", "loose"], description: "default strict (paper)" },
    reward: {
      type: "string",
      enum: ["all", "fraction"],
      description: "all (paper, prompt level) or fraction",
    },
    thinkGate: THINK_GATE_SCHEMA,
    languageMinLength: { type: "integer", minimum: 1, maximum: 1000 },
    promptTemplate: { type: "string" },
    data: DATA_FILES_SCHEMA,
    synthetic: IF_SYNTHETIC_SCHEMA,
    defaultCount: { type: "integer", minimum: 1 },
  },
} as const;

/** Name, description and options schema of the `ifeval` domain factory. */
export const IFEVAL_DOMAIN_INFO = {
  name: "ifeval",
  description: "Instruction following: the 25 verifiable instructions of IFEval, strict or loose",
  optionsSchema: IFEVAL_OPTIONS_SCHEMA,
} as const;
