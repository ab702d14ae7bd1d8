import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  type ConfigProblem,
  type ExperimentConfig,
  type ParsedYaml,
  parseExperiment,
  pluginSpecifiers,
  validateExperiment,
} from "@m2rl/core/config";
import { type Plugin, PluginHost, type Problem } from "@m2rl/core/plugin";
import { loadBuiltinPlugins } from "./builtin.ts";
import { loadPlugin } from "./load.ts";

export interface LoadedExperiment {
  /** The typed experiment; undefined when there is an error. */
  config?: ExperimentConfig;
  /** Errors and warnings placed at file:line:col, in file order. */
  problems: ConfigProblem[];
  /** The host with the built-in and the experiment's plugins applied. */
  host: PluginHost;
  /** Folder of the experiment file: relative paths in the experiment resolve against it. */
  baseDir: string;
  parsed?: ParsedYaml;
  /** Messages that belong to no line (built-in packages that failed to import). */
  notes: string[];
}

export interface LoadExperimentOptions {
  /** Plugins to apply before the experiment's own (default: the built-in packages'). */
  builtins?: Plugin[];
}

/**
 * Reads an experiment file, applies the built-in plugins and those the file lists, validates everything and checks
 * that the files it names exist. Never throws for bad input: every problem comes back placed in the file.
 * `displayName` is the name problems are reported under (default: `file` as given).
 */
export async function loadExperimentFile(
  file: string,
  options: LoadExperimentOptions = {},
  displayName = file,
): Promise<LoadedExperiment> {
  const abs = resolve(file);
  const baseDir = dirname(abs);
  const notes: string[] = [];
  let builtins = options.builtins;
  if (!builtins) {
    const loaded = await loadBuiltinPlugins();
    builtins = loaded.plugins;
    notes.push(...loaded.warnings);
  }
  const host = new PluginHost();
  host.use(...builtins);

  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
    const problem: ConfigProblem = {
      file: displayName,
      line: 1,
      column: 1,
      path: [],
      pathText: "(file)",
      message: reason,
      severity: "error",
    };
    return { problems: [problem], host, baseDir, notes };
  }

  const parsed = parseExperiment(text, displayName);
  const pluginProblems: Problem[] = [];
  for (const { specifier, path } of pluginSpecifiers(parsed)) {
    try {
      host.use(...(await loadPlugin(specifier, baseDir)));
    } catch (err) {
      pluginProblems.push({ path, message: (err as Error).message });
    }
  }
  const v = validateExperiment(parsed, displayName, host, pluginProblems);
  let problems = v.problems;
  if (v.config) {
    const fileProblems = missingFiles(v.config, baseDir).map(parsed.place);
    if (fileProblems.length) problems = [...problems, ...fileProblems].sort((a, b) => a.line - b.line);
  }
  const ok = !problems.some((p) => p.severity === "error");
  return { config: ok ? v.config : undefined, problems, host, baseDir, parsed, notes };
}

/** Files and folders the experiment names that are not there (core takes no fs, so the CLI checks). */
function missingFiles(config: ExperimentConfig, baseDir: string): Problem[] {
  const out: Problem[] = [];
  if (config.policy.source === "path") {
    const dir = resolve(baseDir, config.policy.path);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      out.push({ path: ["policy", "path"], message: `model folder not found: ${dir}` });
  }
  for (const d of Object.values(config.domains))
    for (const split of ["train", "eval"] as const) {
      const f = d[split].file;
      if (f !== undefined && !existsSync(resolve(baseDir, f)))
        out.push({
          path: ["domains", d.id, split, "file"],
          message: `data file not found: ${resolve(baseDir, f)}`,
        });
    }
  return out;
}
