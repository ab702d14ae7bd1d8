import { Command, CommanderError } from "commander";
import { COMMANDS } from "./commands/index.ts";

/** Builds the `m2rl` program: one module per sub-command under ./commands. */
export function buildProgram(): Command {
  const program = new Command("m2rl")
    .description("M2RL: multi-domain RLVR for language models — mix or merge, end to end")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  let code = 0;
  program.hook("postAction", (_this, action) => {
    const c = action.getOptionValue("__exitCode") as number | undefined;
    if (typeof c === "number") code = c;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError)
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    throw err;
  }
  return code;
}

/** Lets a command's action set the process exit code without calling process.exit (keeps tests in-process). */
export function setExitCode(command: Command, code: number): void {
  command.setOptionValue("__exitCode", code);
}
