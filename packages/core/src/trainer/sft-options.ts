/** The options of the supervised warm-up (SFT): type, defaults and the `policy.sft` JSON Schema (no tensor code). */
import type { JSONSchema } from "../plugin/schema.ts";

export interface SftOptions {
  /** Optimizer steps. Default 200. */
  steps: number;
  /** Pairs per step. Default 32. */
  batchSize: number;
  /** Peak LR (cosine to minLr after warm-up). Default 3e-3 (tiny models). */
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  /** Default 1.0. */
  maxGradNorm: number;
  /** Append the EOS token to each reference (teaches the policy to stop). Default true. */
  appendEos: boolean;
  seed: number;
}

export const DEFAULT_SFT: SftOptions = {
  steps: 200,
  batchSize: 32,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 10,
  weightDecay: 0,
  maxGradNorm: 1,
  appendEos: true,
  seed: 0,
};

/** JSON Schema of the experiment's `policy.sft` section (defaults in DEFAULT_SFT). */
export const SFT_OPTIONS_SCHEMA: JSONSchema = {
  title: "M2RL supervised warm-up options",
  type: "object",
  additionalProperties: false,
  properties: {
    steps: { type: "integer", minimum: 0, description: "Optimizer steps (default 200)." },
    batchSize: { type: "integer", minimum: 1, description: "Pairs per step (default 32)." },
    lr: { type: "number", minimum: 0, description: "Peak learning rate (default 3e-3)." },
    minLr: { type: "number", minimum: 0, description: "Cosine floor (default 3e-4)." },
    warmupSteps: { type: "integer", minimum: 0, description: "Linear warm-up steps (default 10)." },
    weightDecay: { type: "number", minimum: 0, description: "AdamW weight decay (default 0)." },
    maxGradNorm: { type: "number", exclusiveMinimum: 0, description: "Global grad-norm clip (default 1)." },
    appendEos: { type: "boolean", description: "Train the EOS after each reference (default true)." },
    seed: { type: "integer", minimum: 0, description: "Batch order seed (default 0)." },
  },
};
