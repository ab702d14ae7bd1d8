/**
 * The typed experiment, as returned by `loadExperiment`: validated, defaults filled in, arms expanded into a list.
 * Plugin-owned option blocks stay `Record<string, unknown>`: their owners read them with their own types.
 */
import type { PathSegment } from "../plugin/problem.ts";

export interface ExperimentConfig {
  name: string;
  description?: string;
  seed: number;
  /** Output folder (as written, relative to the experiment file); default `runs/<name>`. */
  output: string;
  /** Plugin specifiers as written in the file (module names or relative paths). */
  plugins: string[];
  policy: PolicyConfig;
  /** Domains by id, in file order. */
  domains: Record<string, DomainConfig>;
  /** Arms in file order, `single` expanded per domain, singles that merge/mopd arms need added (`implied`). */
  arms: ArmConfig[];
  /** Trainer options (validated by the trainer's registered `trainer` section schema, when there is one). */
  trainer: Record<string, unknown>;
  evaluation: EvaluationConfig;
  analysis: AnalysisConfig[];
}

export type PolicyConfig =
  | {
      source: "builtin";
      /** Recipe name. */
      builtin: string;
      model: Record<string, unknown>;
      sft?: Record<string, unknown>;
      chatTemplate?: ChatTemplateConfig;
    }
  | {
      source: "path";
      /** Model folder as written (relative to the experiment file). */
      path: string;
      sft?: Record<string, unknown>;
      chatTemplate?: ChatTemplateConfig;
    };

export interface SplitConfig {
  count?: number;
  file?: string;
  format?: "jsonl" | "parquet" | "verl";
}

export interface DomainConfig {
  id: string;
  /** Name of the registered DomainFactory. */
  verifier: string;
  /** The plugin that registered the factory. */
  plugin: string;
  options: Record<string, unknown>;
  train: SplitConfig;
  eval: SplitConfig;
}

interface ArmBase {
  /** The arm's id (its key under `arms:`; `single:<domain>` for expanded singles). */
  id: string;
  description?: string;
  /** Path of the arm's block in the file, for messages. */
  source: readonly PathSegment[];
  /** Added because a merge / mopd arm needs it, not written in the file. */
  implied?: boolean;
  /** Eval generations made elsewhere: the arm is scored from them instead of generating (`generations:`). */
  generations?: GenerationsConfig;
}

/** An arm trained elsewhere (verl, OpenRLHF): its Hugging Face folder, as written (relative to the experiment file). */
interface Imported {
  checkpoint?: string;
}

/** `arms.<id>.generations`: generation files scored with the experiment's verifiers. */
export interface GenerationsConfig {
  /** JSONL files as written (relative to the experiment file); `file:` may name one or a list. */
  files: string[];
  /** Line format; undefined: from the first line's keys. */
  format?: "verl" | "jsonl";
  /** Domain id of every line; undefined: from each line (domain / data_source) or its eval task. */
  domain?: string;
}

export type ArmConfig =
  | (ArmBase & { kind: "base" })
  | (ArmBase & { kind: "sft" })
  | (ArmBase & Imported & { kind: "single"; domain: string; trainer: Record<string, unknown> })
  | (ArmBase &
      Imported & {
        kind: "mix";
        domains: string[];
        scheduler: string;
        options: Record<string, unknown>;
        trainer: Record<string, unknown>;
      })
  | (ArmBase & { kind: "merge"; domains: string[]; method: string; parameters: Record<string, unknown> })
  | (ArmBase & { kind: "mopd"; domains: string[]; trainer: Record<string, unknown> });

/** `policy.chatTemplate`: render prompts with the model folder's chat template, with these extra variables. */
export interface ChatTemplateConfig {
  variables: Record<string, unknown>;
}

export interface EvaluationConfig {
  samples: number;
  passAtK: number[];
  temperature: number;
  topP: number;
  maxTokens?: number;
  /** Largest model generated from on this machine; undefined: no limit. */
  maxParameters?: number;
  selfJudge?: SelfJudgeConfig;
}

/** `evaluation.selfJudge`: which eval samples every arm judges, and how SFT teaches the judge format. */
export interface SelfJudgeConfig {
  /** Eval tasks per domain (the first of the eval draw) whose samples are judged in both modes. */
  tasks: number;
  /** Judge-format SFT examples per domain (0: none). */
  sftExamples: number;
}

export interface AnalysisConfig {
  name: string;
  /** The plugin that registered the analysis. */
  plugin: string;
  options: Record<string, unknown>;
}
