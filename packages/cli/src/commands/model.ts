import type { Command } from "commander";
import { onAction } from "./action.ts";

export interface LogitsOptions {
  model: string;
  ids?: string;
  text?: string;
  json?: boolean;
  top: string;
  all?: boolean;
  allowNonfinite?: boolean;
}

export interface GenerateOptions {
  model: string;
  prompt: string;
  chat?: boolean;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  stop?: string[];
  seed: string;
  json?: boolean;
}

/** Parses "1,2,3" (spaces allowed) into token ids; throws on anything else. */
export function parseIds(s: string): number[] {
  const parts = s.split(",").map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new Error(`--ids must be comma-separated non-negative integers, got ${JSON.stringify(s)}`);
  }
  return parts.map(Number);
}

/** `m2rl model logits`: last-position logits of a token sequence (debug model loading, check parity). */
export function register(program: Command): void {
  const model = program
    .command("model")
    .description("inspect a policy model folder (config.json + safetensors)");
  const logits = model
    .command("logits")
    .description("print the last-layer logits at the last position of a token sequence")
    .requiredOption("--model <dir>", "Hugging Face-style model folder")
    .option("--ids <list>", "token ids, comma-separated (e.g. 1,2,3)")
    .option("--text <string>", "text to encode with the folder's tokenizer (instead of --ids)")
    .option("--top <k>", "how many top tokens to list", "10")
    .option("--all", "print every logit (one per line) instead of the top tokens")
    .option("--json", "print {ids, vocab_size, backend, logits, top} as JSON")
    .option("--allow-nonfinite", "load NaN / Inf weights and print non-finite logits instead of failing");
  onAction(logits, async (opts: LogitsOptions) => (await import("./model-impl.ts")).logits(opts));

  const generate = model
    .command("generate")
    .description("sample a completion of a prompt (KV-cache decoding; temperature 0 is greedy)")
    .requiredOption("--model <dir>", "Hugging Face-style model folder (with tokenizer.json)")
    .requiredOption("--prompt <text>", "prompt text")
    .option("--chat", "wrap the prompt as a user message with the tokenizer's chat template")
    .option("--max-new-tokens <n>", "most tokens to generate", "64")
    .option("--temperature <t>", "sampling temperature (0: greedy)", "0")
    .option("--top-p <p>", "nucleus sampling mass", "1")
    .option("--stop <s...>", "stop strings")
    .option("--seed <n>", "sampling seed", "0")
    .option("--json", "print the Generation object as JSON");
  onAction(generate, async (opts: GenerateOptions) => (await import("./model-impl.ts")).generate(opts));
}
