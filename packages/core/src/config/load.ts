import { ConfigError } from "../errors/errors.ts";
import type { PluginHost } from "../plugin/host.ts";
import type { PathSegment, Problem } from "../plugin/problem.ts";
import { didYouMean } from "../plugin/suggest.ts";
import { validateWithSchema } from "../plugin/validate.ts";
import { DEFAULT_MIXING_SCHEDULER } from "../schedulers/weighted.ts";
import { experimentSchema } from "./schema.ts";
import type {
  AnalysisConfig,
  ArmConfig,
  DomainConfig,
  EvaluationConfig,
  ExperimentConfig,
  GenerationsConfig,
  PolicyConfig,
  SplitConfig,
} from "./types.ts";
import { type ConfigProblem, type ParsedYaml, parseYaml } from "./yaml.ts";

// `seeds:` on the typed experiment. Declared next to the loader that fills it (types.ts belongs to the config
// types as a whole; this one field is read by the run command and `experimentSeeds`).
declare module "./types.ts" {
  interface ExperimentConfig {
    /**
     * The seeds to repeat the experiment with, when the file (or `m2rl run --seeds`) gives two or more; `seed` is
     * then the first of them. Absent with one seed: `seeds: [s]` loads exactly as `seed: s`.
     */
    seeds?: number[];
  }
}

/** The seeds an experiment runs with: `seeds` when it has several, else `[seed]`. */
export function experimentSeeds(config: Pick<ExperimentConfig, "seed" | "seeds">): number[] {
  return config.seeds && config.seeds.length > 1 ? [...config.seeds] : [config.seed];
}

/**
 * The experiment with these seeds (non-empty, distinct): `seed` becomes the first, `seeds` is kept only when there
 * are several, so that one seed gives the same object (and hashes) as a file with `seed: <s>`.
 */
export function withSeeds(config: ExperimentConfig, seeds: readonly number[]): ExperimentConfig {
  if (seeds.length === 0) throw new ConfigError("an experiment needs at least one seed");
  const { seeds: _old, ...rest } = config;
  return seeds.length > 1 ? { ...rest, seed: seeds[0], seeds: [...seeds] } : { ...rest, seed: seeds[0] };
}

/** Every problem of an experiment file, thrown at once by `loadExperiment`. */
export class ExperimentConfigError extends ConfigError {
  readonly problems: readonly ConfigProblem[];
  constructor(file: string, problems: readonly ConfigProblem[]) {
    const errors = problems.filter((p) => p.severity === "error");
    super(
      `${errors.length} problem${errors.length === 1 ? "" : "s"}:\n${problems.map(formatProblem).join("\n")}`,
      { file },
    );
    this.problems = problems;
  }
}

/** `exp.yaml:12:7  domains.math.options.levels  [m2rl-verifiers] must be <= 5` */
export function formatProblem(p: ConfigProblem): string {
  const level = p.severity === "warning" ? "warning: " : "";
  const plugin = p.plugin ? `[${p.plugin}] ` : "";
  return `${p.file}:${p.line}:${p.column}  ${p.pathText}  ${level}${plugin}${p.message}`;
}

/** Parses an experiment file (YAML) keeping positions; syntax problems are in `.problems`. */
export function parseExperiment(text: string, fileName: string): ParsedYaml {
  return parseYaml(text, fileName);
}

/** The `plugins:` entries of a parsed experiment that are strings, with their paths (for loader messages). */
export function pluginSpecifiers(parsed: ParsedYaml): { specifier: string; path: PathSegment[] }[] {
  const data = parsed.data;
  if (!isObj(data) || !Array.isArray(data.plugins)) return [];
  return data.plugins.flatMap((s, i) =>
    typeof s === "string" && s ? [{ specifier: s, path: ["plugins", i] }] : [],
  );
}

export interface ExperimentValidation {
  /** The typed experiment; present only when there is no error. */
  config?: ExperimentConfig;
  /** Errors and warnings, in file order. */
  problems: ConfigProblem[];
  parsed: ParsedYaml;
}

/**
 * Validates an experiment against the experiment schema, then every plugin-owned block against the schema of the
 * plugin that registered it (the plugins must already be applied to `host`), then the cross-field rules, then the
 * host's `validateConfig` hook. Collects every problem; never throws for bad input.
 * `extra` are problems found by the caller (e.g. plugins that could not be loaded), placed in the same file.
 */
export function validateExperiment(
  input: string | ParsedYaml,
  fileName: string,
  host: PluginHost,
  extra: readonly Problem[] = [],
): ExperimentValidation {
  const parsed = typeof input === "string" ? parseYaml(input, fileName) : input;
  const done = (problems: Problem[], config?: ExperimentConfig): ExperimentValidation => {
    const placed = [...parsed.problems, ...[...extra, ...problems].map(parsed.place)];
    placed.sort((a, b) => a.line - b.line || a.column - b.column);
    const ok = !placed.some((p) => p.severity === "error");
    return { config: ok ? config : undefined, problems: placed, parsed };
  };
  if (parsed.data === undefined) return done([]);
  const raw = parsed.data;
  if (!isObj(raw))
    return done([{ path: [], message: "an experiment file must be a YAML mapping (key: value)" }]);

  // Before the schema fills in `seed`'s default.
  const bothSeeds = raw.seed !== undefined && raw.seeds !== undefined;
  const written = writtenArmKeys(raw.arms);
  const problems: Problem[] = validateWithSchema(undefined, experimentSchema, raw);
  if (bothSeeds)
    problems.push({
      path: ["seeds"],
      at: "key",
      message: "give either 'seed' or 'seeds', not both ('seeds: [s]' is 'seed: s')",
    });
  const checker = new Checker(host, raw, problems, written);
  checker.policy();
  checker.domains();
  checker.arms();
  checker.imports();
  checker.sections();
  checker.runFixedKeys();
  checker.evaluation();
  checker.analysis();
  if (
    problems.some((p) => (p.severity ?? "error") === "error") ||
    extra.some((p) => p.severity !== "warning")
  )
    return done(problems);

  let config = normalize(raw, host);
  const hookProblems: Problem[] = [];
  host.hooks.validateConfig.call(config, hookProblems);
  problems.push(...hookProblems);
  if (!hookProblems.some((p) => (p.severity ?? "error") === "error")) config = host.hooks.config.call(config);
  return done(problems, config);
}

/**
 * Loads an experiment file's text into a typed config. The plugins it names must already be applied to `host`
 * (the CLI loads them; see `pluginSpecifiers`). Throws ExperimentConfigError listing every problem.
 */
export function loadExperiment(text: string, fileName: string, host: PluginHost): ExperimentConfig {
  const v = validateExperiment(text, fileName, host);
  if (!v.config) throw new ExperimentConfigError(fileName, v.problems);
  return v.config;
}

/** Config sections of trainer plugins' options are named `trainer.plugins.<plugin name>`. */
const TRAINER_PLUGINS = "trainer.plugins.";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The keys written in each arm's block, before the schema fills in defaults (e.g. a mix arm's `scheduler`). */
function writtenArmKeys(arms: unknown): ReadonlyMap<string, ReadonlySet<string>> {
  const out = new Map<string, Set<string>>();
  if (isObj(arms))
    for (const [id, v] of Object.entries(arms)) out.set(id, new Set(isObj(v) ? Object.keys(v) : []));
  return out;
}

/** Why an experiment that imports checkpoints or generations runs with one seed. */
export const IMPORTS_ONE_SEED =
  "imported checkpoints and generations come from one run elsewhere: with several seeds every seed would score the same ones again; give one seed";

/** Keys of a training arm that an imported arm (`checkpoint`) does not use: it was trained elsewhere. */
const TRAINING_KEYS = ["trainer", "scheduler", "options", "domains"];

/** Arm kind of an arm id, or undefined when the id matches no kind (the schema reports that). */
function armKind(id: string): ArmConfig["kind"] | undefined {
  const prefix = id.split(":")[0];
  if (prefix === "base" || prefix === "sft") return id === prefix ? prefix : undefined;
  if (prefix === "single" || prefix === "mix" || prefix === "merge" || prefix === "mopd") return prefix;
  return undefined;
}

/** Cross-field checks and the validation of plugin-owned blocks. Tolerates shapes the schema already rejected. */
class Checker {
  constructor(
    readonly host: PluginHost,
    readonly raw: Obj,
    readonly problems: Problem[],
    /** Keys written in each arm's block (before schema defaults). */
    readonly written: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
  ) {}

  get domainIds(): string[] {
    return isObj(this.raw.domains) ? Object.keys(this.raw.domains) : [];
  }

  policy(): void {
    const p = this.raw.policy;
    if (!isObj(p)) return;
    if (p.builtin !== undefined && p.path !== undefined)
      this.problems.push({
        path: ["policy", "path"],
        message: "give either 'builtin' or 'path', not both",
        at: "key",
      });
    else if (p.builtin === undefined && p.path === undefined)
      this.problems.push({
        path: ["policy"],
        message: "missing 'builtin' (a built-in tiny policy recipe) or 'path' (a Hugging Face model folder)",
      });
    if (p.path !== undefined && p.model !== undefined)
      this.problems.push({
        path: ["policy", "model"],
        message:
          "'model' overrides the built-in recipe's architecture; a model folder has its own config.json",
        at: "key",
      });
    const chat = p.chatTemplate;
    if (p.builtin !== undefined && (chat === true || isObj(chat)))
      this.problems.push({
        path: ["policy", "chatTemplate"],
        message:
          "the built-in policy's character tokenizer has no chat template; use a model folder (policy.path) whose tokenizer has one",
      });
  }

  domains(): void {
    const domains = this.raw.domains;
    if (!isObj(domains)) return;
    for (const [id, d] of Object.entries(domains)) {
      if (!isObj(d)) continue;
      const name = typeof d.verifier === "string" ? d.verifier : id;
      const factory = this.host.registry.domains.find(name);
      if (!factory) {
        const path: PathSegment[] = d.verifier === undefined ? ["domains", id] : ["domains", id, "verifier"];
        const hint =
          d.verifier === undefined ? " (set 'verifier' to a registered domain, or load its plugin)" : "";
        this.problems.push({
          path,
          message: this.host.registry.domains.unknownMessage(name) + hint,
          at: d.verifier === undefined ? "key" : "value",
        });
        continue;
      }
      this.options(
        d,
        "options",
        ["domains", id],
        factory.optionsSchema,
        this.host.registry.domains.owner(name),
      );
    }
  }

  arms(): void {
    const arms = this.raw.arms;
    if (!isObj(arms)) return;
    const domainIds = this.domainIds;
    const singles = new Set<string>();
    for (const [id, value] of Object.entries(arms)) {
      const kind = armKind(id);
      const a: Obj = isObj(value) ? value : {};
      const at: PathSegment[] = ["arms", id];
      if (kind === "single" && id !== "single") {
        const d = id.slice("single:".length);
        if (!domainIds.includes(d))
          this.problems.push({
            path: at,
            at: "key",
            message: `unknown domain '${d}'${didYouMean(d, domainIds)}`,
          });
        if (singles.has(d))
          this.problems.push({
            path: at,
            at: "key",
            message: `arm '${id}' is also produced by the 'single' arm`,
          });
      }
      if (kind === "single" && id === "single") {
        for (const d of domainIds) {
          if (d in arms)
            this.problems.push({
              path: ["arms", `single:${d}`],
              at: "key",
              message: `arm 'single:${d}' is also produced by the 'single' arm`,
            });
          singles.add(d);
        }
      }
      if (kind === "mix" || kind === "merge" || kind === "mopd") this.armDomains(a, at, domainIds);
      if (kind === "mix") {
        const scheduler = typeof a.scheduler === "string" ? a.scheduler : DEFAULT_MIXING_SCHEDULER;
        const registry = this.host.registry.mixingSchedulers;
        const info = registry.find(scheduler);
        if (!info)
          this.problems.push({
            path: a.scheduler === undefined ? at : [...at, "scheduler"],
            at: a.scheduler === undefined ? "key" : "value",
            message:
              registry.unknownMessage(scheduler) +
              (a.scheduler === undefined
                ? " (the default scheduler; set 'scheduler' or load its plugin)"
                : ""),
          });
        else this.options(a, "options", at, info.optionsSchema, registry.owner(scheduler));
        if (!isObj(value) && info?.optionsSchema) arms[id] = a;
      }
      if (kind === "merge") {
        const method = typeof a.method === "string" ? a.method : id.slice("merge:".length);
        const registry = this.host.registry.mergeMethods;
        const info = registry.find(method);
        if (!info)
          this.problems.push({
            path: a.method === undefined ? at : [...at, "method"],
            at: a.method === undefined ? "key" : "value",
            message: registry.unknownMessage(method),
          });
        else this.options(a, "parameters", at, info.optionsSchema, registry.owner(method));
        if (!isObj(value) && info?.optionsSchema) arms[id] = a;
      }
      if (kind === "single" || kind === "mix" || kind === "mopd") {
        this.trainerPlugins(a.trainer, [...at, "trainer"]);
        const trainer = this.host.registry.configSections.find("trainer");
        if (trainer && isObj(a.trainer))
          this.problems.push(
            ...this.host.validateOptions(
              this.host.registry.configSections.owner("trainer")!,
              trainer.optionsSchema,
              a.trainer,
              [...at, "trainer"],
            ),
          );
      }
    }
  }

  /**
   * Imported arms (`checkpoint`, `single.checkpoints`) and imported generations: every domain named exists, the
   * expanded `single` imports every domain, training keys on an imported arm are a warning, and the policy is the
   * model folder the arms were trained from (no built-in recipe, no SFT stage here that would move the merge base).
   */
  imports(): void {
    const arms = this.raw.arms;
    if (!isObj(arms)) return;
    const domainIds = this.domainIds;
    const imported: PathSegment[][] = [];
    const unknownDomain = (path: PathSegment[], d: string, at: "key" | "value") =>
      this.problems.push({ path, at, message: `unknown domain '${d}'${didYouMean(d, domainIds)}` });
    const checkGenerations = (g: unknown, at: PathSegment[]) => {
      if (isObj(g) && typeof g.domain === "string" && !domainIds.includes(g.domain))
        unknownDomain([...at, "domain"], g.domain, "value");
    };
    for (const [id, value] of Object.entries(arms)) {
      if (!isObj(value)) continue;
      const at: PathSegment[] = ["arms", id];
      const kind = armKind(id);
      let isImported = false;
      if (id === "single") {
        if (isObj(value.checkpoints)) {
          isImported = true;
          imported.push([...at, "checkpoints"]);
          for (const d of Object.keys(value.checkpoints))
            if (!domainIds.includes(d)) unknownDomain([...at, "checkpoints", d], d, "key");
          const missing = domainIds.filter((d) => !Object.hasOwn(value.checkpoints as Obj, d));
          if (missing.length)
            this.problems.push({
              path: [...at, "checkpoints"],
              at: "key",
              message: `no checkpoint for domain${missing.length === 1 ? "" : "s"} ${missing.map((d) => `'${d}'`).join(", ")}: 'checkpoints' imports every domain's single arm (write single:<domain> arms to import some and train others)`,
            });
        }
        if (isObj(value.generations))
          for (const [d, g] of Object.entries(value.generations)) {
            if (!domainIds.includes(d)) unknownDomain([...at, "generations", d], d, "key");
            checkGenerations(g, [...at, "generations", d]);
          }
      } else {
        if ((kind === "single" || kind === "mix") && typeof value.checkpoint === "string") {
          isImported = true;
          imported.push([...at, "checkpoint"]);
        }
        checkGenerations(value.generations, [...at, "generations"]);
      }
      // Kept (m2rl export reads them to write the arm's job), but not used once the checkpoint is imported.
      if (isImported)
        for (const k of TRAINING_KEYS)
          if (this.written.get(id)?.has(k))
            this.problems.push({
              path: [...at, k],
              at: "key",
              severity: "warning",
              message: `'${k}' is not used by an imported arm: it was trained elsewhere (m2rl export reads it to write the arm's job)`,
            });
    }
    const generations = Object.values(arms).some((a) => isObj(a) && a.generations !== undefined);
    if ((imported.length || generations) && Array.isArray(this.raw.seeds) && new Set(this.raw.seeds).size > 1)
      this.problems.push({
        path: ["seeds"],
        at: "key",
        message: IMPORTS_ONE_SEED,
      });
    if (!imported.length) return;
    const p = this.raw.policy;
    if (isObj(p) && p.builtin !== undefined)
      for (const path of imported)
        this.problems.push({
          path,
          at: "key",
          message:
            "an imported checkpoint is merged and compared against the model it was trained from: set policy.path to that Hugging Face folder (policy.builtin is M2RL's own tiny recipe)",
        });
    const sftMessage =
      "arms are imported (trained elsewhere from policy.path), and an SFT stage here would move the start point and the merge base away from that model: make policy.path the SFT model the engine started from";
    if (isObj(p) && p.sft !== undefined)
      this.problems.push({ path: ["policy", "sft"], at: "key", message: sftMessage });
    if ("sft" in arms) this.problems.push({ path: ["arms", "sft"], at: "key", message: sftMessage });
  }

  armDomains(a: Obj, at: PathSegment[], domainIds: string[]): void {
    if (!Array.isArray(a.domains)) return;
    a.domains.forEach((d, i) => {
      if (typeof d === "string" && !domainIds.includes(d))
        this.problems.push({
          path: [...at, "domains", i],
          message: `unknown domain '${d}'${didYouMean(d, domainIds)}`,
        });
    });
  }

  /**
   * Trainer and SFT keys that an experiment sets per arm, refused where a block would set them (they would be
   * overridden, i.e. accepted and ignored): `seed` (every arm's seed derives from the experiment's `seed` and the arm
   * id), `scheduler` (a mix arm's `scheduler` / `options` replace it whole), `algorithm` other than the arm kind's
   * (single and mix arms run GRPO, mopd arms MOPD).
   */
  runFixedKeys(): void {
    const fixed = (block: unknown, at: PathSegment[], algorithm: string | undefined) => {
      if (!isObj(block)) return;
      if (block.seed !== undefined)
        this.problems.push({
          path: [...at, "seed"],
          at: "key",
          message:
            "each arm's seed derives from the experiment's `seed` (or `seeds`) and the arm id; set those instead",
        });
      if (at.at(-1) !== "trainer") return;
      if (block.scheduler !== undefined)
        this.problems.push({
          path: [...at, "scheduler"],
          at: "key",
          message:
            "the mixing scheduler is a mix arm's `scheduler:` (and its `options:`), not a trainer option",
        });
      if (block.algorithm !== undefined && block.algorithm !== algorithm)
        this.problems.push({
          path: [...at, "algorithm"],
          at: "value",
          message:
            algorithm === undefined
              ? "the algorithm follows each arm's kind (single and mix arms: grpo; mopd arms: mopd); remove it here"
              : `a ${algorithm === "mopd" ? "mopd" : "single or mix"} arm runs '${algorithm}'; remove 'algorithm'`,
        });
    };
    const policy = this.raw.policy;
    if (isObj(policy)) fixed(policy.sft, ["policy", "sft"], undefined);
    fixed(this.raw.trainer, ["trainer"], undefined);
    const arms = this.raw.arms;
    if (!isObj(arms)) return;
    for (const [id, value] of Object.entries(arms)) {
      const kind = armKind(id);
      if (isObj(value) && (kind === "single" || kind === "mix" || kind === "mopd"))
        fixed(value.trainer, ["arms", id, "trainer"], kind === "mopd" ? "mopd" : "grpo");
    }
  }

  /**
   * `trainer.plugins.<name>`: each block is checked by the schema plugin registered as config section
   * `trainer.plugins.<name>`; a name that no loaded plugin registered is an error (its options would be ignored).
   */
  trainerPlugins(trainer: unknown, at: PathSegment[]): void {
    if (!isObj(trainer) || !isObj(trainer.plugins)) return;
    const registry = this.host.registry.configSections;
    const known = registry.names().filter((n) => n.startsWith(TRAINER_PLUGINS));
    for (const [name, block] of Object.entries(trainer.plugins)) {
      const section = `${TRAINER_PLUGINS}${name}`;
      const path = [...at, "plugins", name];
      if (!registry.has(section)) {
        const names = known.map((n) => n.slice(TRAINER_PLUGINS.length));
        this.problems.push({
          path,
          at: "key",
          message:
            `no loaded plugin takes trainer options under '${name}'${didYouMean(name, names)}; ` +
            (names.length
              ? `trainer plugins loaded: ${names.join(", ")}`
              : "no loaded plugin takes trainer options") +
            " (list the plugin under `plugins:`)",
        });
        continue;
      }
      this.problems.push(
        ...this.host.validateOptions(
          registry.owner(section)!,
          registry.get(section).optionsSchema,
          block,
          path,
        ),
      );
    }
  }

  /** Open sections validated by the schema their owner registered (`trainer`, `policy.sft`, ...). */
  sections(): void {
    const registry = this.host.registry.configSections;
    for (const name of registry.names()) {
      if (name.startsWith(TRAINER_PLUGINS)) continue; // trainerPlugins() checks them, at top level and per arm
      const path = name.split(".");
      const parent = getIn(this.raw, path.slice(0, -1));
      if (!isObj(parent) || !isObj(parent[path[path.length - 1]])) continue;
      this.problems.push(
        ...this.host.validateOptions(
          registry.owner(name)!,
          registry.get(name).optionsSchema,
          parent[path[path.length - 1]],
          path,
        ),
      );
    }
    this.trainerPlugins(this.raw.trainer, ["trainer"]);
    for (const name of ["trainer", "policy.sft", "policy.model"]) {
      const v = getIn(this.raw, name.split("."));
      if (isObj(v) && Object.keys(v).length > 0 && !registry.has(name))
        this.problems.push({
          path: name.split("."),
          at: "key",
          severity: "warning",
          message: `no loaded plugin registered a schema for '${name}': its keys are not checked`,
        });
    }
  }

  evaluation(): void {
    const e = this.raw.evaluation;
    if (!isObj(e) || typeof e.samples !== "number" || !Array.isArray(e.passAtK)) return;
    const samples = e.samples;
    e.passAtK.forEach((k, i) => {
      if (typeof k === "number" && k > samples)
        this.problems.push({
          path: ["evaluation", "passAtK", i],
          message: `pass@${k} needs at least ${k} samples per prompt; evaluation.samples is ${samples}`,
        });
    });
    const judge = e.selfJudge;
    const hasSft = isObj(this.raw.policy) && "sft" in this.raw.policy;
    const sftArm = isObj(this.raw.arms) && "sft" in this.raw.arms;
    if (isObj(judge) && typeof judge.sftExamples === "number" && judge.sftExamples > 0 && !hasSft && !sftArm)
      this.problems.push({
        path: ["evaluation", "selfJudge", "sftExamples"],
        message:
          "judge examples are added to the SFT data, and this experiment has no SFT stage (no policy.sft, no sft arm)",
      });
    if (samples > 1 && e.temperature === 0)
      this.problems.push({
        path: ["evaluation", "temperature"],
        severity: "warning",
        message: `temperature 0 (greedy) makes all ${samples} samples identical; pass@k needs temperature > 0`,
      });
  }

  analysis(): void {
    const list = this.raw.analysis;
    if (!Array.isArray(list)) return;
    const registry = this.host.registry.analyses;
    list.forEach((item, i) => {
      const name =
        typeof item === "string"
          ? item
          : isObj(item) && typeof item.name === "string"
            ? item.name
            : undefined;
      if (name === undefined) return;
      const info = registry.find(name);
      if (!info) {
        this.problems.push({
          path: typeof item === "string" ? ["analysis", i] : ["analysis", i, "name"],
          message: registry.unknownMessage(name),
        });
        return;
      }
      if (isObj(item))
        this.options(item, "options", ["analysis", i], info.optionsSchema, registry.owner(name));
      else if (info.optionsSchema)
        this.problems.push(
          ...this.host.validateOptions(registry.owner(name)!, info.optionsSchema, {}, ["analysis", i]),
        );
    });
  }

  /**
   * Validates `holder[key]` (default `{}`) against a plugin's schema, in place (defaults filled in). Skips values
   * that are not objects: the experiment schema already reported them.
   */
  options(
    holder: Obj,
    key: string,
    at: PathSegment[],
    schema: object | undefined,
    owner: string | undefined,
  ): void {
    const value = holder[key] ?? {};
    if (!isObj(value) || !schema) return;
    this.problems.push(...this.host.validateOptions(owner ?? "?", schema as Obj, value, [...at, key]));
    holder[key] = value;
  }
}

function getIn(v: unknown, path: readonly string[]): unknown {
  let node = v;
  for (const k of path) node = isObj(node) ? node[k] : undefined;
  return node;
}

const asObj = (v: unknown): Obj => (isObj(v) ? v : {});
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? (v as string[]) : undefined);

/** `generations:` as typed: `file` always a list. */
function generationsConfig(v: unknown): GenerationsConfig {
  const g = asObj(v);
  const files = Array.isArray(g.file) ? (g.file as string[]) : [String(g.file)];
  return {
    files,
    ...(g.format === "verl" || g.format === "jsonl" ? { format: g.format } : {}),
    ...(typeof g.domain === "string" ? { domain: g.domain } : {}),
  };
}

/** The typed experiment from a raw document that passed every check. */
function normalize(raw: Obj, host: PluginHost): ExperimentConfig {
  const p = asObj(raw.policy);
  const policy: PolicyConfig =
    typeof p.path === "string"
      ? { source: "path", path: p.path }
      : { source: "builtin", builtin: String(p.builtin), model: asObj(p.model) };
  if (isObj(p.sft)) policy.sft = p.sft;
  if (p.chatTemplate === true) policy.chatTemplate = { variables: {} };
  else if (isObj(p.chatTemplate)) policy.chatTemplate = { variables: asObj(p.chatTemplate.variables) };

  const domains: Record<string, DomainConfig> = {};
  for (const [id, v] of Object.entries(asObj(raw.domains))) {
    const d = asObj(v);
    const verifier = typeof d.verifier === "string" ? d.verifier : id;
    domains[id] = {
      id,
      verifier,
      plugin: host.registry.domains.owner(verifier) ?? "",
      options: asObj(d.options),
      train: asObj(d.train) as SplitConfig,
      eval: asObj(d.eval) as SplitConfig,
    };
  }
  const domainIds = Object.keys(domains);

  const rawArms = asObj(raw.arms);
  const explicitSingles = new Set<string>();
  for (const id of Object.keys(rawArms)) {
    if (id === "single") for (const d of domainIds) explicitSingles.add(d);
    else if (id.startsWith("single:")) explicitSingles.add(id.slice("single:".length));
  }
  const arms: ArmConfig[] = [];
  const implied = new Set<string>();
  const needSingles = (ds: string[]) => {
    for (const d of ds)
      if (!explicitSingles.has(d) && !implied.has(d)) {
        implied.add(d);
        arms.push({
          id: `single:${d}`,
          kind: "single",
          domain: d,
          trainer: {},
          source: ["arms"],
          implied: true,
        });
      }
  };
  for (const [id, v] of Object.entries(rawArms)) {
    const a = asObj(v);
    const source: PathSegment[] = ["arms", id];
    const description = typeof a.description === "string" ? { description: a.description } : {};
    // Present only when written, so that the arms (and their cache hashes) of experiments without imports are as before.
    const generations = a.generations === undefined ? {} : { generations: generationsConfig(a.generations) };
    const checkpoint = typeof a.checkpoint === "string" ? { checkpoint: a.checkpoint } : {};
    const ds = strings(a.domains) ?? domainIds;
    switch (armKind(id)) {
      case "base":
      case "sft":
        arms.push({ id, kind: id as "base" | "sft", source, ...description, ...generations });
        break;
      case "single":
        for (const d of id === "single" ? domainIds : [id.slice("single:".length)]) {
          const perDomain =
            id === "single"
              ? {
                  ...(typeof asObj(a.checkpoints)[d] === "string"
                    ? { checkpoint: asObj(a.checkpoints)[d] as string }
                    : {}),
                  ...(isObj(asObj(a.generations)[d])
                    ? { generations: generationsConfig(asObj(a.generations)[d]) }
                    : {}),
                }
              : { ...checkpoint, ...generations };
          arms.push({
            id: `single:${d}`,
            kind: "single",
            domain: d,
            trainer: asObj(a.trainer),
            source,
            ...description,
            ...perDomain,
          });
        }
        break;
      case "mix":
        arms.push({
          id,
          kind: "mix",
          domains: ds,
          scheduler: typeof a.scheduler === "string" ? a.scheduler : DEFAULT_MIXING_SCHEDULER,
          options: asObj(a.options),
          trainer: asObj(a.trainer),
          source,
          ...description,
          ...checkpoint,
          ...generations,
        });
        break;
      case "merge":
        needSingles(ds);
        arms.push({
          id,
          kind: "merge",
          domains: ds,
          method: typeof a.method === "string" ? a.method : id.slice("merge:".length),
          parameters: asObj(a.parameters),
          source,
          ...description,
          ...generations,
        });
        break;
      case "mopd":
        needSingles(ds);
        arms.push({
          id,
          kind: "mopd",
          domains: ds,
          trainer: asObj(a.trainer),
          source,
          ...description,
          ...generations,
        });
        break;
    }
  }

  const analysis: AnalysisConfig[] = (Array.isArray(raw.analysis) ? raw.analysis : []).map((item) => {
    const name = typeof item === "string" ? item : String(asObj(item).name);
    return {
      name,
      plugin: host.registry.analyses.owner(name) ?? "",
      options: asObj(isObj(item) ? item.options : {}),
    };
  });

  const seeds = Array.isArray(raw.seeds) ? (raw.seeds as number[]) : undefined;
  const config: ExperimentConfig = {
    name: String(raw.name),
    seed: seeds ? seeds[0] : typeof raw.seed === "number" ? raw.seed : 0,
    ...(seeds && seeds.length > 1 ? { seeds: [...seeds] } : {}),
    output: typeof raw.output === "string" ? raw.output : `runs/${String(raw.name)}`,
    plugins: strings(raw.plugins) ?? [],
    policy,
    domains,
    arms,
    trainer: asObj(raw.trainer),
    evaluation: raw.evaluation as EvaluationConfig,
    analysis,
  };
  if (typeof raw.description === "string") config.description = raw.description;
  return config;
}
