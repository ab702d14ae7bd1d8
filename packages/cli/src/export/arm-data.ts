/**
 * The prompts of an exported arm, as engine-neutral rows: the tasks come from the experiment's own domains (the
 * same `createDomains` `m2rl run` uses: synthetic generators, verl / IFEval data files, plugin domains), the train
 * rows in the order M2RL's trainer draws them (mix-order.ts), the eval rows as `m2rl run` evaluates every arm (all
 * domains' eval splits, drawn with the fixed eval seed).
 */
import { resolve } from "node:path";
import type { ChatMessage, ChatTemplateConfig, Domain, ExperimentConfig, Task } from "@m2rl/core";
import { HfTokenizer, loadTokenizer, parseConfig } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { chatMessages } from "../run/chat.ts";
import { EVAL_TASK_SEED } from "../run/executors/context.ts";

/** One prompt of a job, whatever the engine. */
export interface ExportRow {
  /** The experiment's domain id: verl's data_source, OpenRLHF's datasource. */
  domain: string;
  /** The domain's verifier (its registered name): what `m2rl serve` grades it with. */
  verifier: string;
  /** M2RL's task id. */
  taskId: string;
  /** The chat turns the engine renders (with the model's template, or the raw-text template). */
  messages: ChatMessage[];
  /** The prompt as M2RL feeds it without a chat template. */
  text: string;
  /** The ground truth as text: a string as it is, anything else as JSON (the verifiers parse JSON ground truths). */
  groundTruth: string;
}

export function groundTruthText(gt: unknown): string {
  if (typeof gt === "string") return gt;
  if (typeof gt === "number" || typeof gt === "boolean") return String(gt);
  return JSON.stringify(gt);
}

/** A task as a row: its chat turns as M2RL renders them with `policy.chatTemplate`, else its prompt as one turn. */
export function exportRow(task: Task, verifier: string, chat: boolean): ExportRow {
  return {
    domain: task.domain,
    verifier,
    taskId: task.id,
    messages: chat ? chatMessages(task) : [{ role: "user", content: task.prompt }],
    text: task.prompt,
    groundTruth: groundTruthText(task.groundTruth),
  };
}

/** The eval rows of every job: each domain's eval split as `m2rl run` evaluates an arm (all domains, seed 0). */
export async function evalRows(
  config: ExperimentConfig,
  domains: ReadonlyMap<string, Domain>,
): Promise<ExportRow[]> {
  const rows: ExportRow[] = [];
  const chat = config.policy.chatTemplate !== undefined;
  for (const [id, d] of domains) {
    const tasks = await d.tasks({ split: "eval", seed: EVAL_TASK_SEED });
    for (const t of tasks) rows.push(exportRow(t, config.domains[id].verifier, chat));
  }
  return rows;
}

/**
 * The longest prompt in tokens. With a local model folder that has a tokenizer, counted exactly (rendered with its
 * chat template when the experiment uses one) plus a margin of 8 for special tokens; otherwise an upper bound
 * from the text: its UTF-8 bytes plus 16 per chat turn (a token holds at least one byte; a template adds a few
 * tokens per turn).
 */
export async function maxPromptTokens(
  rows: readonly ExportRow[],
  chat: ChatTemplateConfig | undefined,
  folder: string | undefined,
): Promise<{ tokens: number; source: string }> {
  const tokenizer = folder ? await localTokenizer(folder) : undefined;
  if (tokenizer) {
    let max = 0;
    for (const r of rows) {
      const text =
        chat && tokenizer.chatTemplate !== undefined
          ? tokenizer.applyChatTemplate(r.messages, { addGenerationPrompt: true, extra: chat.variables })
          : r.text;
      max = Math.max(max, tokenizer.encode(text).length);
    }
    return { tokens: max + 8, source: `counted with the tokenizer of ${folder} (+8)` };
  }
  const bytes = new TextEncoder();
  let max = 0;
  for (const r of rows) {
    const n = chat
      ? r.messages.reduce((a, m) => a + bytes.encode(m.content).length + 16, 16)
      : bytes.encode(r.text).length + 16;
    max = Math.max(max, n);
  }
  return {
    tokens: max,
    source: "an upper bound from the prompts' UTF-8 bytes (no local tokenizer; set --max-prompt-length)",
  };
}

async function localTokenizer(folder: string): Promise<HfTokenizer | undefined> {
  try {
    const store = new NodeFileStore(resolve(folder));
    const cfg = parseConfig(await store.readText("config.json"), `${folder}/config.json`);
    const tok = await loadTokenizer(store, cfg);
    return tok instanceof HfTokenizer ? tok : undefined;
  } catch {
    return undefined; // not a local folder (a hub id) or no tokenizer: the byte bound
  }
}
