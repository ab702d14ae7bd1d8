import type { Command } from "commander";
import { onAction } from "./action.ts";

export interface ValidateOptions {
  json?: boolean;
}

/** `m2rl validate <file>`: every problem as `file:line:col  path  message`; exit 2 on error, 0 otherwise. */
export function register(program: Command): void {
  const command = program
    .command("validate")
    .description("check an experiment file: schema, plugins, plugin options, files; print every problem")
    .argument("<file>", "experiment YAML file")
    .option("--json", "print the problems (and the resolved experiment when valid) as JSON");
  onAction(command, async (file: string, opts: ValidateOptions) =>
    (await import("./validate-impl.ts")).validate(file, opts),
  );
}
