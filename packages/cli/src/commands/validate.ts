import { type ConfigProblem, formatProblem } from "@m2rl/core";
import type { Command } from "commander";
import { setExitCode } from "../main.ts";
import { loadExperimentFile } from "../plugins/experiment.ts";

/** `m2rl validate <file>`: every problem as `file:line:col  path  message`; exit 2 on error, 0 otherwise. */
export function register(program: Command): void {
  program
    .command("validate")
    .description("check an experiment file: schema, plugins, plugin options, files; print every problem")
    .argument("<file>", "experiment YAML file")
    .option("--json", "print the problems (and the resolved experiment when valid) as JSON")
    .action(async (file: string, opts: { json?: boolean }, command: Command) => {
      const loaded = await loadExperimentFile(file);
      for (const note of loaded.notes) process.stderr.write(`warning: ${note}\n`);
      const errors = loaded.problems.filter((p) => p.severity === "error");
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ok: errors.length === 0, problems: loaded.problems.map(plain), config: loaded.config }, null, 2)}\n`,
        );
      } else {
        for (const p of loaded.problems)
          (p.severity === "error" ? process.stderr : process.stdout).write(`${formatProblem(p)}\n`);
        if (errors.length === 0 && loaded.config) {
          const c = loaded.config;
          const n = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
          process.stdout.write(
            `${file}: OK — experiment '${c.name}': ${n(Object.keys(c.domains).length, "domain")}, ${n(c.arms.length, "arm")}, ${n(loaded.host.plugins.length, "plugin")}\n`,
          );
        } else {
          process.stderr.write(`${file}: ${n2(errors.length)}\n`);
        }
      }
      setExitCode(command, errors.length ? 2 : 0);
    });
}

const n2 = (k: number) => `${k} problem${k === 1 ? "" : "s"}`;

function plain(p: ConfigProblem) {
  return {
    file: p.file,
    line: p.line,
    column: p.column,
    path: p.pathText,
    severity: p.severity,
    plugin: p.plugin,
    message: p.message,
  };
}
