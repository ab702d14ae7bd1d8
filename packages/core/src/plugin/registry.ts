import { HookMap, SyncBailHook } from "tapable";
import { PluginError } from "../errors/errors.ts";
import type { JSONSchema } from "./schema.ts";
import { didYouMean } from "./suggest.ts";

/** What every registry entry has: a name to be found by, and optionally the JSON Schema of its options. */
export interface RegistryEntry {
  name: string;
  description?: string;
  optionsSchema?: JSONSchema;
}

/**
 * A registry of named entries (domain factories, mixing schedulers, merge methods, analyses) that is itself a
 * tapable hook: `hooks.for(name)` is a SyncBailHook that returns the entry, tapped under the registering plugin's
 * name. `register(pluginName, entry)` is sugar for `hooks.for(entry.name).tap(pluginName, () => entry)`; both
 * routes go through the same interceptor, which rejects a second registration of a name and records its owner.
 */
export class Registry<T extends RegistryEntry> {
  /** The hook map behind the registry: one SyncBailHook per registered name. */
  readonly hooks: HookMap<SyncBailHook<[], T | undefined>>;
  readonly #owners = new Map<string, string>();

  /** `kind` names the entries in messages ("domain", "merge method"). */
  constructor(readonly kind: string) {
    this.hooks = new HookMap(() => new SyncBailHook<[], T | undefined>([]), kind);
    this.hooks.intercept({
      factory: (key: unknown, hook: SyncBailHook<[], T | undefined>) => {
        const name = String(key);
        if (typeof key !== "string" || name.trim() === "")
          throw new PluginError(`${kind} name must be a non-empty string, got ${JSON.stringify(key)}`);
        hook.intercept({
          register: (tap) => {
            const previous = this.#owners.get(name);
            if (previous !== undefined)
              throw new PluginError(
                `${kind} '${name}' is registered twice: first by plugin '${previous}', again by plugin '${tap.name}'`,
                { plugin: tap.name },
              );
            this.#owners.set(name, tap.name);
            return tap;
          },
        });
        return hook;
      },
    });
  }

  /** Registers `entry` under `entry.name`, owned by `pluginName`. */
  register(pluginName: string, entry: T): void {
    if (entry === null || typeof entry !== "object" || typeof entry.name !== "string")
      throw new PluginError(`${this.kind} entries need a string 'name'`, { plugin: pluginName });
    this.hooks.for(entry.name).tap(pluginName, () => entry);
  }

  has(name: string): boolean {
    return this.#owners.has(name);
  }

  /** The entry registered as `name`; throws PluginError with a did-you-mean suggestion when there is none. */
  get(name: string): T {
    const entry = this.#owners.has(name) ? this.hooks.get(name)?.call() : undefined;
    if (entry === undefined) throw new PluginError(this.unknownMessage(name));
    return entry;
  }

  /** The entry, or undefined. */
  find(name: string): T | undefined {
    return this.#owners.has(name) ? this.hooks.get(name)?.call() : undefined;
  }

  /** The plugin that registered `name`. */
  owner(name: string): string | undefined {
    return this.#owners.get(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.#owners.keys()];
  }

  /** Registered entries, in registration order. */
  entries(): T[] {
    return this.names().map((n) => this.get(n));
  }

  /** "unknown domain 'mth' (did you mean 'math'?); registered: math, code" */
  unknownMessage(name: string): string {
    const names = this.names();
    const known = names.length ? `registered: ${names.join(", ")}` : `no ${this.kind} is registered`;
    return `unknown ${this.kind} '${name}'${didYouMean(name, names)}; ${known}`;
  }
}
