import type { Command } from "commander";
import { onAction } from "./action.ts";

export interface VerifyOptions {
  domain: string;
  in: string;
  out?: string;
  options: string;
  concurrency: number;
  plugin?: string[];
  progress: boolean;
}

/** `m2rl verify --domain <name> --in responses.jsonl [--out scored.jsonl]` */
export function register(program: Command): void {
  const command = program
    .command("verify")
    .description(
      "score a JSONL file of {response, ground_truth} lines with a domain's verifier; adds reward, status, extracted, detail",
    )
    .requiredOption("--domain <name>", "registered domain (math, code, science, ifeval, or a plugin's)")
    .requiredOption("--in <file>", "input JSONL: one {response, ground_truth, ...} object per line")
    .option("--out <file>", "output JSONL (default: stdout)")
    .option("--options <json>", "domain options as JSON (validated against the domain's schema)", "{}")
    .option("--concurrency <n>", "lines verified at once", (v) => Number.parseInt(v, 10), 8)
    .option("--plugin <module...>", "extra plugin modules to load (third-party domains)")
    .option("--no-progress", "no progress bar on stderr");
  onAction(command, async (opts: VerifyOptions) => (await import("./verify-impl.ts")).verify(opts));
}
