import { open, readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CHAT_TEMPLATE_FILE, chatTemplateOf } from "@m2rl/core/chat";
import {
  type ConfigProblem,
  type ExperimentConfig,
  type ParsedYaml,
  parseExperiment,
  pluginSpecifiers,
  validateExperiment,
} from "@m2rl/core/config";
import type { Split } from "@m2rl/core/domain";
import { type PathSegment, type Plugin, PluginHost, type Problem } from "@m2rl/core/plugin";
import type { DataFormatName } from "@m2rl/verifiers/data";
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
    const fileProblems = (await unreadableFiles(v.config, host, baseDir)).map(parsed.place);
    if (fileProblems.length) problems = [...problems, ...fileProblems].sort((a, b) => a.line - b.line);
  }
  const ok = !problems.some((p) => p.severity === "error");
  return { config: ok ? v.config : undefined, problems, host, baseDir, parsed, notes };
}

/**
 * The files and folders the experiment names that a run could not read (core takes no fs, so the CLI checks): the
 * model folder (`policy.path`: config.json and a safetensors checkpoint whose header parses) and every data file
 * (`domains.<id>.<split>.file`, `domains.<id>.options.data.<split>`: there, a file, a known format, first rows with a
 * prompt and a ground truth, Parquet columns and codecs). Only headers and first rows are read. A split file is also
 * refused for a domain whose factory takes no data files, and when `options.data` names the same split's file.
 */
async function unreadableFiles(
  config: ExperimentConfig,
  host: PluginHost,
  baseDir: string,
): Promise<Problem[]> {
  const out: Problem[] = [];
  if (config.policy.source === "path") {
    const reason = await unreadableModelFolder(resolve(baseDir, config.policy.path));
    if (reason) out.push({ path: ["policy", "path"], message: reason });
    else if (config.policy.chatTemplate && !(await hasChatTemplate(resolve(baseDir, config.policy.path))))
      out.push({
        path: ["policy", "chatTemplate"],
        message:
          "the model folder's tokenizer has no chat template (no chat_template.jinja, and no chat_template string or `default` entry in tokenizer_config.json)",
      });
  }
  // imported checkpoints and generation files (`arms.<id>.checkpoint`, `.generations`): src/run/imported/, loaded
  // only for an experiment that imports something
  if (
    config.arms.some((a) => a.generations !== undefined || ("checkpoint" in a && a.checkpoint !== undefined))
  ) {
    const { importProblems } = await import("../run/imported/validate.ts");
    out.push(...(await importProblems(config, baseDir, unreadableModelFolder)));
  }
  const named = Object.values(config.domains).some(
    (d) => d.train.file !== undefined || d.eval.file !== undefined || d.options.data !== undefined,
  );
  if (!named) return out;
  // the data readers (hyparquet) only when the experiment names data files
  const { checkDataFile, takesDataFiles } = await import("@m2rl/verifiers/data");
  const check = async (path: PathSegment[], file: string, format?: DataFormatName) => {
    try {
      await checkDataFile(file, { baseDir, format });
    } catch (e) {
      const m = (e as Error).message;
      out.push({
        path,
        message: (e as Error).name === "DataError" ? `data file ${m}` : `data file ${file}: ${m}`,
      });
    }
  };
  for (const d of Object.values(config.domains)) {
    const takes = host.registry.domains.has(d.verifier)
      ? takesDataFiles(host.registry.domains.get(d.verifier).optionsSchema)
      : true;
    const data = takes
      ? (d.options.data as Partial<Record<Split | "format", string>> | undefined)
      : undefined;
    for (const split of ["train", "eval"] as const) {
      const { file, format } = d[split];
      const path = ["domains", d.id, split, "file"];
      if (file !== undefined && !takes)
        out.push({
          path,
          message: `domain '${d.verifier}' (plugin ${d.plugin}) cannot read data files: its options have no 'data' key; generate the split (count) instead`,
        });
      else if (file !== undefined && data?.[split] !== undefined)
        out.push({
          path,
          message: `the ${split} split's file is given twice: here and in options.data.${split}; keep one`,
        });
      else if (file !== undefined) await check(path, file, format);
      if (typeof data?.[split] === "string")
        await check(
          ["domains", d.id, "options", "data", split],
          data[split] as string,
          data.format as DataFormatName | undefined,
        );
    }
  }
  return out;
}

const INDEX_FILE = "model.safetensors.index.json";

/** True when the folder has a chat template (core's chatTemplateOf: the rule the policy's tokenizer loads with). */
async function hasChatTemplate(dir: string): Promise<boolean> {
  const names = await readdir(dir);
  const read = async (f: string) => (names.includes(f) ? readFile(join(dir, f), "utf8") : undefined);
  let cfg: Record<string, unknown> | undefined;
  try {
    const text = await read("tokenizer_config.json");
    cfg = text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    cfg = undefined;
  }
  return chatTemplateOf(cfg, await read(CHAT_TEMPLATE_FILE)) !== undefined;
}

/** Why a model folder cannot be loaded (config.json, a safetensors checkpoint and its header), or undefined. */
async function unreadableModelFolder(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) return `model path is not a folder: ${dir}`;
    names = await readdir(dir);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT"
      ? `model folder not found: ${dir}`
      : `model folder ${dir}: ${(e as Error).message}`;
  }
  if (!names.includes("config.json")) return `model folder ${dir} has no config.json`;
  try {
    const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    if (!cfg || typeof cfg !== "object" || Array.isArray(cfg))
      return `model folder ${dir}: config.json is not a JSON object`;
  } catch (e) {
    return `model folder ${dir}: config.json: ${(e as Error).message}`;
  }
  let shards: string[];
  if (names.includes(INDEX_FILE)) {
    try {
      const index = JSON.parse(await readFile(join(dir, INDEX_FILE), "utf8")) as { weight_map?: unknown };
      if (!index.weight_map || typeof index.weight_map !== "object")
        return `model folder ${dir}: ${INDEX_FILE} has no weight_map`;
      shards = [...new Set(Object.values(index.weight_map as Record<string, unknown>).map(String))];
    } catch (e) {
      return `model folder ${dir}: ${INDEX_FILE}: ${(e as Error).message}`;
    }
    const missing = shards.filter((f) => !names.includes(f));
    if (missing.length)
      return `model folder ${dir}: ${INDEX_FILE} names missing shards: ${missing.join(", ")}`;
  } else {
    const files = names.filter((f) => f.endsWith(".safetensors")).sort();
    if (files.length === 0) return `model folder ${dir} has no *.safetensors file`;
    if (files.length > 1 && !files.includes("model.safetensors"))
      return `model folder ${dir} has several .safetensors files (${files.join(", ")}) but no ${INDEX_FILE}`;
    shards = [files.length > 1 ? "model.safetensors" : files[0]];
  }
  for (const shard of shards) {
    const reason = await unreadableSafetensorsHeader(join(dir, shard));
    if (reason) return `model folder ${dir}: ${shard}: ${reason}`;
  }
  return undefined;
}

/** Reads the 8-byte length and the JSON header of a safetensors file (not the tensors). */
async function unreadableSafetensorsHeader(file: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, "r");
    const { size } = await handle.stat();
    const head = new Uint8Array(8);
    if (size < 8 || (await handle.read(head, 0, 8, 0)).bytesRead < 8)
      return "not a safetensors file (too short)";
    const n = Number(new DataView(head.buffer).getBigUint64(0, true));
    if (n > size - 8 || n > 100 * 1024 ** 2) return "not a safetensors file (bad header length)";
    const header = new Uint8Array(n);
    await handle.read(header, 0, n, 8);
    const parsed = JSON.parse(new TextDecoder().decode(header));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return "header is not a JSON object";
    return undefined;
  } catch (e) {
    return `not a readable safetensors file: ${(e as Error).message}`;
  } finally {
    await handle?.close();
  }
}
