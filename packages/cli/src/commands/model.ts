import { HfTokenizer, initBackend, loadPolicy } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import type { Command } from "commander";
import { setExitCode } from "../main.ts";

interface LogitsOptions {
  model: string;
  ids?: string;
  text?: string;
  json?: boolean;
  top: string;
  all?: boolean;
}

interface GenerateOptions {
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
  model
    .command("logits")
    .description("print the last-layer logits at the last position of a token sequence")
    .requiredOption("--model <dir>", "Hugging Face-style model folder")
    .option("--ids <list>", "token ids, comma-separated (e.g. 1,2,3)")
    .option("--text <string>", "text to encode with the folder's tokenizer (instead of --ids)")
    .option("--top <k>", "how many top tokens to list", "10")
    .option("--all", "print every logit (one per line) instead of the top tokens")
    .option("--json", "print {ids, vocab_size, backend, logits, top} as JSON")
    .action(async (opts: LogitsOptions, command: Command) => {
      try {
        if ((opts.ids === undefined) === (opts.text === undefined))
          throw new Error("give exactly one of --ids or --text");
        const info = await initBackend({ log: (line) => process.stderr.write(`${line}\n`) });
        const policy = await loadPolicy(new NodeFileStore(opts.model), {
          allowMissingTokenizer: opts.text === undefined,
        });
        const ids = opts.ids !== undefined ? parseIds(opts.ids) : policy.tokenizer.encode(opts.text!);
        if (ids.length === 0) throw new Error("the sequence is empty");
        const t = policy.lastLogits([ids]);
        const logits = Array.from(t.dataSync());
        t.dispose();
        policy.dispose();
        const k = Math.max(0, Math.min(logits.length, Number.parseInt(opts.top, 10) || 0));
        const top = logits
          .map((l, id) => ({ id, logit: l }))
          .sort((a, b) => b.logit - a.logit || a.id - b.id)
          .slice(0, k)
          .map((e) => ({ ...e, token: policy.tokenizer.decode([e.id]) }));
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ model: opts.model, ids, vocab_size: logits.length, backend: info.description, logits, top })}\n`,
          );
        } else if (opts.all) {
          process.stdout.write(`${logits.map((l) => l.toPrecision(8)).join("\n")}\n`);
        } else {
          const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
          process.stdout.write(
            `${opts.model}: ${ids.length} tokens, vocab ${logits.length}, logits min ${Math.min(...logits).toFixed(4)} max ${Math.max(...logits).toFixed(4)} mean ${mean.toFixed(4)}\n`,
          );
          for (const e of top)
            process.stdout.write(
              `${String(e.id).padStart(8)}  ${e.logit.toFixed(6).padStart(12)}  ${JSON.stringify(e.token)}\n`,
            );
        }
        setExitCode(command, 0);
      } catch (err) {
        process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        setExitCode(command, 1);
      }
    });

  model
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
    .option("--json", "print the Generation object as JSON")
    .action(async (opts: GenerateOptions, command: Command) => {
      try {
        await initBackend({ log: (line) => process.stderr.write(`${line}\n`) });
        const policy = await loadPolicy(new NodeFileStore(opts.model), { trainable: false });
        let text = opts.prompt;
        if (opts.chat) {
          if (!(policy.tokenizer instanceof HfTokenizer))
            throw new Error("--chat needs a tokenizer with a chat template");
          text = policy.tokenizer.applyChatTemplate([{ role: "user", content: opts.prompt }]);
        }
        const num = (name: string, v: string) => {
          const x = Number(v);
          if (!Number.isFinite(x)) throw new Error(`${name} must be a number, got ${JSON.stringify(v)}`);
          return x;
        };
        const [g] = await policy.generate([policy.tokenizer.encode(text)], {
          maxNewTokens: num("--max-new-tokens", opts.maxNewTokens),
          temperature: num("--temperature", opts.temperature),
          topP: num("--top-p", opts.topP),
          stop: opts.stop,
          seed: num("--seed", opts.seed),
        });
        policy.dispose();
        if (opts.json) process.stdout.write(`${JSON.stringify(g)}\n`);
        else process.stdout.write(`${g.text}\n[${g.ids.length} tokens, finish: ${g.finishReason}]\n`);
        setExitCode(command, 0);
      } catch (err) {
        process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        setExitCode(command, 1);
      }
    });
}
