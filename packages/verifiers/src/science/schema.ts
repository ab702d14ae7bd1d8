/**
 * The science domain's name, description and options schema: what validating an experiment needs, without the
 * verifier (domain.ts builds the domain from these).
 */
import { THINK_GATE_SCHEMA } from "../common/think.ts";
import { DATA_FILES_SCHEMA } from "../data/schema.ts";
import { SCIENCE_SYNTHETIC_SCHEMA } from "./generator.ts";

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

/** Name, description and options schema of the `science` domain factory. */
export const SCIENCE_DOMAIN_INFO = {
  name: "science",
  description: "Science: multiple-choice letter extraction and numeric answers with relative tolerance",
  optionsSchema: SCIENCE_OPTIONS_SCHEMA,
} as const;
