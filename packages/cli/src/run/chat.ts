/**
 * `policy.chatTemplate`: every prompt the policy sees is rendered with the model folder's chat template. The
 * experiment's domains hand out tasks whose `prompt` is already rendered, so SFT, rollouts, evaluation, MOPD and
 * the analyses all see the same text. A task from a verl chat list (`meta.messages`) keeps its turns, the system
 * turn included; any other task's prompt becomes one user turn; the generation prompt follows.
 */
import { resolve } from "node:path";
import type { ChatMessage, ExperimentConfig, Task } from "@m2rl/core";
import { ConfigError, HfTokenizer, loadTokenizer, parseConfig } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";

export type PromptFormat = (task: Task) => string;

/** The chat turns of a task: its verl chat list when it has one, else its prompt as a user turn. */
export function chatMessages(task: Task): ChatMessage[] {
  const m = task.meta?.messages;
  if (
    Array.isArray(m) &&
    m.length > 0 &&
    m.every((x) => x && typeof x.role === "string" && typeof x.content === "string")
  )
    return m.map((x) => ({ role: x.role as string, content: x.content as string }));
  return [{ role: "user", content: task.prompt }];
}

/** The experiment's prompt format, or undefined when `policy.chatTemplate` is off. */
export async function promptFormat(
  config: ExperimentConfig,
  baseDir: string,
): Promise<PromptFormat | undefined> {
  const chat = config.policy.chatTemplate;
  if (!chat) return undefined;
  if (config.policy.source !== "path")
    throw new ConfigError("the built-in policy's tokenizer has no chat template", {
      path: "policy.chatTemplate",
    });
  const store = new NodeFileStore(resolve(baseDir, config.policy.path));
  const modelConfig = parseConfig(await store.readText("config.json"), `${store.name}/config.json`);
  const tokenizer = await loadTokenizer(store, modelConfig);
  if (!(tokenizer instanceof HfTokenizer) || tokenizer.chatTemplate === undefined)
    throw new ConfigError(
      "policy.chatTemplate is set, but the model folder's tokenizer has no chat template (tokenizer_config.json " +
        "`chat_template` or chat_template.jinja)",
      { file: store.name, path: "policy.chatTemplate" },
    );
  return (task) =>
    tokenizer.applyChatTemplate(chatMessages(task), { addGenerationPrompt: true, extra: chat.variables });
}
