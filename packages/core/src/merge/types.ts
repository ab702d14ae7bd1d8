/**
 * Contract of a merge method (owned by the mergers work; packages/mergers implements the methods). Core holds only
 * the types so that the plugin host can keep a registry of them.
 */
import type { JSONSchema } from "../plugin/schema.ts";

/** A merge method registered by name (mergekit's names: linear, ties, dare_ties, ...). */
export interface MergeMethodInfo {
  name: string;
  description?: string;
  /** JSON Schema of the method's parameters (global and per-model). */
  optionsSchema?: JSONSchema;
}
