/**
 * Contract of a mixing scheduler (owned by the trainer work): decides which domain each prompt of a batch comes
 * from. Core holds the type so that the plugin host can keep a registry of them.
 */
import type { JSONSchema } from "../plugin/schema.ts";

export interface MixingSchedulerInfo {
  name: string;
  description?: string;
  optionsSchema?: JSONSchema;
}
