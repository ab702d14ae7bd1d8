/** `m2rl model logits` and `m2rl model generate`, loaded when one of them runs. */
// native kernels for initBackend and the BF16 codec of checkpoints (Node; M2RL_NATIVE=0 turns them off)
import "@m2rl/kernels-native/register";
import { HfTokenizer, initBackend, loadPolicy } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { type GenerateOptions, type LogitsOptions, parseIds } from "./model.ts";

/** `m2rl model logits`: resolves to 0, or 1 after printing the error. */
export async function logits(opts: LogitsOptions): Promise<number> {
  try {
    if ((opts.ids === undefined) === (opts.text === undefined))
      throw new Error("give exactly one of --ids or --text");
    const info = await initBackend({ log: (line) => process.stderr.write(`${line}\n`) });
    const policy = await loadPolicy(new NodeFileStore(opts.model), {
      allowMissingTokenizer: opts.text === undefined,
      allowNonFinite: opts.allowNonfinite === true,
    });
    const ids = opts.ids !== undefined ? parseIds(opts.ids) : policy.tokenizer.encode(opts.text!);
    if (ids.length === 0) throw new Error("the sequence is empty");
    const t = policy.lastLogits([ids]);
    const logits = Array.from(t.dataSync());
    t.dispose();
    policy.dispose();
    const bad = logits.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0 && !opts.allowNonfinite)
      throw new Error(
        `logit ${bad} is ${logits[bad]}: the forward pass overflowed (weights too large for float32 arithmetic?)`,
      );
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
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** `m2rl model generate`: resolves to 0, or 1 after printing the error. */
export async function generate(opts: GenerateOptions): Promise<number> {
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
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
