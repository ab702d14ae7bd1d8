import { SyncHook, SyncWaterfallHook } from "tapable";
import type { Analysis } from "../analysis/types.ts";
import type { ExperimentConfig } from "../config/types.ts";
import type { DomainFactory } from "../domain/types.ts";
import { PluginError } from "../errors/errors.ts";
import type { MergeMethodInfo } from "../merge/types.ts";
import type { MixingSchedulerInfo } from "../schedulers/types.ts";
import type { Trainer } from "../trainer/trainer.ts";
import type { PathSegment, Problem } from "./problem.ts";
import { Registry } from "./registry.ts";
import type { JSONSchema } from "./schema.ts";
import { optionsValidation } from "./validation-slot.ts";

/** A plugin: an object (or class instance) with a name and an `apply` that taps the host's hooks. */
export interface Plugin {
  name: string;
  apply(host: PluginHost): void;
}

/**
 * The schema of one open section of the experiment file, registered by the module that owns it: e.g. the trainer
 * registers `{ name: "trainer", optionsSchema }` and the experiment loader validates the `trainer:` block with it.
 * `name` is the dotted path of the section in the experiment (`trainer`, `policy.sft`, `policy.model`).
 */
export interface ConfigSectionInfo {
  name: string;
  description?: string;
  optionsSchema: JSONSchema;
}

/** The registries of a host. Each is a tapable HookMap underneath (see Registry). */
export interface Registries {
  domains: Registry<DomainFactory>;
  mixingSchedulers: Registry<MixingSchedulerInfo>;
  mergeMethods: Registry<MergeMethodInfo>;
  analyses: Registry<Analysis>;
  /** Schemas of the open sections of the experiment file (trainer options, SFT options, tiny-model recipe). */
  configSections: Registry<ConfigSectionInfo>;
}

/** The hooks of the plugin host, in the order they fire. */
export interface PluginHostHooks {
  /** After a plugin's `apply` returned. */
  pluginApplied: SyncHook<[Plugin]>;
  /** After the experiment passed its schema and the registries' option schemas: add cross-field problems. */
  validateConfig: SyncHook<[ExperimentConfig, Problem[]]>;
  /** The validated experiment, before it is handed to the runner: fill defaults, rewrite. */
  config: SyncWaterfallHook<[ExperimentConfig]>;
  /**
   * Each RL trainer the host's runner creates (one per trained arm, before it runs): tap `trainer.hooks` here to
   * shape rewards, replace a stage, stop early... Options: `trainer.config.plugins[<plugin name>]`.
   */
  trainer: SyncHook<[Trainer, TrainerArm]>;
}

/** The arm a trainer trains, as `hooks.trainer` sees it. */
export interface TrainerArm {
  /** Arm id: `single:math`, `mix`, `mopd:<label>`, ... */
  id: string;
  kind: "single" | "mix" | "mopd";
  /** The domains the arm trains on. */
  domains: readonly string[];
}

/**
 * Where plugins plug in (webpack style): one frozen `hooks` object, the registries, and options validation with
 * ajv. Built-in domains, schedulers, merge methods and analyses are plugins on the same host, no different from a
 * third party's.
 */
export class PluginHost {
  readonly hooks: Readonly<PluginHostHooks> = Object.freeze({
    pluginApplied: new SyncHook<[Plugin]>(["plugin"]),
    validateConfig: new SyncHook<[ExperimentConfig, Problem[]]>(["config", "problems"]),
    config: new SyncWaterfallHook<[ExperimentConfig]>(["config"]),
    trainer: new SyncHook<[Trainer, TrainerArm]>(["trainer", "arm"]),
  });

  readonly registry: Readonly<Registries> = Object.freeze({
    domains: new Registry<DomainFactory>("domain"),
    mixingSchedulers: new Registry<MixingSchedulerInfo>("mixing scheduler"),
    mergeMethods: new Registry<MergeMethodInfo>("merge method"),
    analyses: new Registry<Analysis>("analysis"),
    configSections: new Registry<ConfigSectionInfo>("config section"),
  });

  readonly #plugins = new Map<string, Plugin>();

  constructor(plugins: Iterable<Plugin> = []) {
    this.use(...plugins);
  }

  /**
   * Applies plugins in order. Applying the same plugin object twice is a no-op; two different plugins with the
   * same name are an error. A plugin whose `apply` throws is reported as a PluginError naming it.
   */
  use(...plugins: Plugin[]): this {
    for (const plugin of plugins) {
      if (plugin === null || typeof plugin !== "object" || typeof plugin.name !== "string" || !plugin.name)
        throw new PluginError(
          `not a plugin (needs a string 'name' and an 'apply(host)' method): ${show(plugin)}`,
        );
      if (typeof plugin.apply !== "function")
        throw new PluginError("plugin has no 'apply(host)' method", { plugin: plugin.name });
      const previous = this.#plugins.get(plugin.name);
      if (previous === plugin) continue;
      if (previous !== undefined)
        throw new PluginError("two different plugins share this name; each plugin needs a unique name", {
          plugin: plugin.name,
        });
      this.#plugins.set(plugin.name, plugin);
      try {
        plugin.apply(this);
      } catch (err) {
        if (err instanceof PluginError) throw err;
        throw new PluginError(
          `apply failed: ${(err as Error)?.message ?? String(err)}`,
          { plugin: plugin.name },
          {
            cause: err,
          },
        );
      }
      this.hooks.pluginApplied.call(plugin);
    }
    return this;
  }

  /** Names of the applied plugins, in order. */
  get plugins(): string[] {
    return [...this.#plugins.keys()];
  }

  hasPlugin(name: string): boolean {
    return this.#plugins.has(name);
  }

  /**
   * Validates a plugin's options against its JSON Schema (compiled once, cached). Returns every problem, each with
   * its full JSON path (`jsonPathPrefix` + the path inside `options`) and the plugin's name; an empty array when
   * the options are valid. Defaults declared in the schema are filled into `options` in place. The validator is
   * ajv's, installed by `@m2rl/core/plugin` (./validate.ts); a program that imported only `@m2rl/core/plugin/lite`
   * gets a PluginError instead.
   */
  validateOptions(
    pluginName: string,
    schema: JSONSchema | undefined,
    options: unknown,
    jsonPathPrefix: readonly PathSegment[] = [],
  ): Problem[] {
    if (schema === undefined) return [];
    const validate = optionsValidation.validate;
    if (!validate)
      throw new PluginError(
        "cannot validate options: the validator (ajv) is not loaded; import '@m2rl/core/plugin', not only '@m2rl/core/plugin/lite'",
        { plugin: pluginName },
      );
    return validate(pluginName, schema, options, jsonPathPrefix);
  }
}

function show(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "function") return `function ${v.name || "(anonymous)"}`;
  if (typeof v === "object") return `object with keys [${Object.keys(v).join(", ")}]`;
  return `${typeof v} ${String(v)}`;
}
