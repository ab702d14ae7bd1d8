/**
 * The options of the supervised warm-up (SFT), declared once: the type, the defaults and the `policy.sft` JSON Schema
 * are derived from `SFT_OPTIONS` (no tensor code).
 */
import { bool, defaultsOf, group, int, num, type OptionsOf, schemaOf } from "../plugin/options.ts";
import type { JSONSchema } from "../plugin/schema.ts";

export const SFT_OPTIONS = group("M2RL supervised warm-up options", {
  steps: int("Optimizer steps.", 200),
  batchSize: int("Pairs per step.", 32, 1),
  lr: num("Peak learning rate (linear warm-up, then cosine to minLr).", 3e-3, { minimum: 0 }),
  minLr: num("Cosine floor.", 3e-4, { minimum: 0 }),
  warmupSteps: int("Linear warm-up steps.", 10),
  weightDecay: num("AdamW weight decay.", 0, { minimum: 0 }),
  maxGradNorm: num("Global grad-norm clip.", 1, { exclusiveMinimum: 0 }),
  appendEos: bool("Train the EOS after each reference (teaches the policy to stop).", true),
  seed: int("Batch order seed.", 0),
});

export type SftOptions = OptionsOf<typeof SFT_OPTIONS>;

export const DEFAULT_SFT: SftOptions = defaultsOf(SFT_OPTIONS);

/** JSON Schema of the experiment's `policy.sft` section (defaults in DEFAULT_SFT). */
export const SFT_OPTIONS_SCHEMA: JSONSchema = schemaOf(SFT_OPTIONS);
