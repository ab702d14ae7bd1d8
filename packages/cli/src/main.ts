import { Command, CommanderError } from "commander";
import { exitCodeOf } from "./commands/action.ts";
import { COMMANDS } from "./commands/index.ts";

/**
 * Builds the `m2rl` program: one module per sub-command under ./commands. Registering declares options and
 * arguments only; each action imports its implementation when it runs.
 */
export function buildProgram(): Command {
  const program = new Command("m2rl")
    .description("M2RL: multi-domain RLVR for language models — mix or merge, end to end")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code (what the command's action resolved to). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError)
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    throw err;
  }
  return exitCodeOf(program);
}
