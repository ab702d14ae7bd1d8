/**
 * Contract of an analysis (owned by the analysis work; packages/analysis implements them). Core holds the type so
 * that the plugin host can keep a registry of them.
 */
import type { JSONSchema } from "../plugin/schema.ts";

export interface AnalysisInfo {
  name: string;
  description?: string;
  optionsSchema?: JSONSchema;
}
