/**
 * The options every built-in domain shares, as leaves of the options DSL (`@m2rl/core/plugin`): each domain's
 * declaration (`<domain>/schema.ts`) puts them beside its own, and its type, JSON Schema and defaults derive from
 * that one declaration. Light to import (no verifier code), like the schemas that use them.
 */
import { int, num, optional, str, value } from "@m2rl/core/plugin";
import type { DataFiles } from "../data/load.ts";
import { DATA_FILES_SCHEMA } from "../data/schema.ts";
import { THINK_GATE_SCHEMA, type ThinkGateMode } from "./think.ts";

/** `name`: the domain's name on tasks and metrics; defaults to the factory's name. */
export const domainName = (domain: string) =>
  str(`Domain name on tasks, metrics and eval rows (default: ${domain}).`, domain, 1);

/** `thinkGate`: how the text after `</think>` is graded (default `optional`). */
export const THINK_GATE = value<ThinkGateMode>(
  THINK_GATE_SCHEMA,
  `${THINK_GATE_SCHEMA.description} Default: optional.`,
  "optional",
);

/** `promptTemplate`: wraps each task's prompt (absent: the prompt as it is). */
export const PROMPT_TEMPLATE = optional(
  str(
    "Prompt template: `{prompt}` is replaced by the task's prompt; without it the template is a prefix.",
    "",
  ),
);

/** `data`: the files of the splits (absent: the seeded synthetic generator). */
export const DATA_FILES = optional(
  value<DataFiles>(
    DATA_FILES_SCHEMA,
    "Files of the splits (verl JSONL / Parquet); a split without a file comes from the synthetic generator.",
    {},
  ),
);

/** `defaultCount`: tasks per split when a query gives no count (absent: 2000 train, 200 eval). */
export const DEFAULT_COUNT = optional(
  int("Synthetic tasks per split when the query gives no count (default: 2000 train, 200 eval).", 1, 1),
);

/** `synthetic.evalFraction`: the share of a generator's problem space reserved for the eval split. */
export const EVAL_FRACTION = num(
  "Share of the problem space reserved for the eval split (default 0.2).",
  0.2,
  {
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
  },
);

/** `synthetic.teacherErrorRate`: a noisy teacher's share of wrong SFT references (`mistake` says which wrong). */
export const teacherErrorRate = (mistake: string) =>
  num(
    `Fraction of SFT references that are ${mistake} (a noisy teacher); the graded ground truth is unchanged (default 0).`,
    0,
    { minimum: 0, maximum: 1 },
  );
