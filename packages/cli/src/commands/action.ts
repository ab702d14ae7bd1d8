/** How a command hands its exit code to main(): its action resolves to it. */
import type { Command } from "commander";

/** The exit code of the action that ran, per program (main() returns it). */
const exitCodes = new WeakMap<Command, number>();

function rootOf(command: Command): Command {
  let c = command;
  while (c.parent) c = c.parent;
  return c;
}

/**
 * Sets `command`'s action to `run`; what `run` resolves to is the program's exit code (nothing: 0). `run` receives
 * what commander passes (arguments, options, the command). Keep `run` small: it should `await import()` the
 * command's implementation, so that parsing the command line, `--help` and `--version` load none of it.
 */
export function onAction<A extends unknown[]>(
  command: Command,
  run: (...args: A) => Promise<number> | Promise<void>,
): Command {
  return command.action(async (...args: unknown[]) => {
    const code = await run(...(args as A));
    exitCodes.set(rootOf(command), typeof code === "number" ? code : 0);
  });
}

/** The exit code the program's action resolved to; 0 when none ran or it resolved to nothing. */
export function exitCodeOf(program: Command): number {
  return exitCodes.get(rootOf(program)) ?? 0;
}

/**
 * Sets the exit code from inside a plain commander action.
 * @deprecated Only for command modules not yet on {@link onAction}, whose action resolves to the exit code.
 */
export function setExitCode(command: Command, code: number): void {
  exitCodes.set(rootOf(command), code);
}
