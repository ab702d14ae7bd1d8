/** `m2rl validate`: loads and checks an experiment file, loaded when the command runs. */
import { type ConfigProblem, formatProblem } from "@m2rl/core/config";
import { loadExperimentFile } from "../plugins/experiment.ts";
import type { ValidateOptions } from "./validate.ts";

/** Validates an experiment file and prints every problem; resolves to 2 when there is an error, else 0. */
export async function validate(file: string, opts: ValidateOptions): Promise<number> {
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
      process.stderr.write(`${file}: ${problemCount(errors.length)}\n`);
    }
  }
  return errors.length ? 2 : 0;
}

const problemCount = (k: number) => `${k} problem${k === 1 ? "" : "s"}`;

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
