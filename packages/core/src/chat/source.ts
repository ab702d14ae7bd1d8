/**
 * Where a Hugging Face model folder keeps its chat template, as transformers loads it: a `chat_template.jinja` file
 * takes priority over the `chat_template` entry of tokenizer_config.json; that entry is a string, or a list of named
 * templates `[{name, template}]` of which the one named `default` is used. One rule for every reader (the policy's
 * tokenizer, `m2rl validate`, the merger's `chat_template: auto`), so they cannot disagree about a folder.
 */

/** The folder's chat template from its tokenizer_config.json object and chat_template.jinja text (undefined when
 * the file is absent); undefined when it has none. */
export function chatTemplateOf(
  tokenizerConfig: Readonly<Record<string, unknown>> | undefined,
  jinjaFile: string | undefined,
): string | undefined {
  if (jinjaFile !== undefined && jinjaFile.trim() !== "") return jinjaFile;
  const t = tokenizerConfig?.chat_template;
  if (typeof t === "string") return t.trim() === "" ? undefined : t;
  if (Array.isArray(t)) {
    const named = t.find(
      (x): x is { name: string; template: string } =>
        typeof x === "object" && x !== null && x.name === "default" && typeof x.template === "string",
    );
    return named?.template;
  }
  return undefined;
}

/** The file that may hold a folder's chat template beside tokenizer_config.json. */
export const CHAT_TEMPLATE_FILE = "chat_template.jinja";
