/**
 * The engines' valid launch keys, extracted from their sources by scripts/engine-keys/extract.py into
 * `keys/<engine>-<revision>.json` (the commit is named inside), and the check of a launch script against them: a
 * verl `key=value` must be a key of the composed config, a `+key=value` must not be (Hydra refuses both mistakes); an
 * OpenRLHF flag must be one its argparse parser declares, with as many values as it takes.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { commandWords } from "./launch.ts";
import type { Engine } from "./options.ts";

export interface VerlKeys {
  engine: "verl";
  repository: string;
  revision: string;
  commit: string;
  source: string;
  launch: string;
  keys: string[];
  emptyMappings: string[];
}

export interface OpenRlhfKeys {
  engine: "openrlhf";
  repository: string;
  revision: string;
  commit: string;
  source: string;
  launch: string;
  /** Flag → values it takes: 0 a switch, -1 any number, else that many. */
  flags: Record<string, number>;
}

/** The engine revisions `m2rl export` writes jobs for. */
export const ENGINE_REVISIONS: Readonly<Record<Engine, string>> = { verl: "b178a3cd", openrlhf: "v0.11.0" };

/** src/export/keys, from src/export or dist/export (the JSON files ship in src/). */
export function keysDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, "..", "..", "src", "export", "keys");
}

const cache = new Map<Engine, VerlKeys | OpenRlhfKeys>();

export function engineKeys(engine: "verl"): VerlKeys;
export function engineKeys(engine: "openrlhf"): OpenRlhfKeys;
export function engineKeys(engine: Engine): VerlKeys | OpenRlhfKeys;
export function engineKeys(engine: Engine): VerlKeys | OpenRlhfKeys {
  let keys = cache.get(engine);
  if (!keys) {
    const file = join(keysDir(), `${engine}-${ENGINE_REVISIONS[engine]}.json`);
    keys = JSON.parse(readFileSync(file, "utf8")) as VerlKeys | OpenRlhfKeys;
    cache.set(engine, keys);
  }
  return keys;
}

/** Problems with the verl overrides `words` (each `key=value` or `+key=value`); empty when all are valid. */
export function checkVerlWords(words: readonly string[], keys: VerlKeys = engineKeys("verl")): string[] {
  const known = new Set(keys.keys);
  const problems: string[] = [];
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq <= 0) {
      problems.push(`'${w}' is not a key=value override`);
      continue;
    }
    const key = w.slice(0, eq);
    if (key.startsWith("+")) {
      if (known.has(key.slice(1)))
        problems.push(`${key}: '${key.slice(1)}' is in verl's config, write it without '+'`);
    } else if (!known.has(key))
      problems.push(
        `${key}: not a key of verl's composed config (${keys.source} at ${keys.commit.slice(0, 8)})`,
      );
  }
  return problems;
}

/** Problems with the OpenRLHF arguments `words`; empty when every flag is declared and has its values. */
export function checkOpenRlhfWords(
  words: readonly string[],
  keys: OpenRlhfKeys = engineKeys("openrlhf"),
): string[] {
  const problems: string[] = [];
  const isFlag = (w: string | undefined) => w?.startsWith("--") === true;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (!isFlag(w)) {
      problems.push(`'${w}' is a value without a flag`);
      continue;
    }
    const arity = keys.flags[w];
    if (arity === undefined) {
      problems.push(`${w}: not a flag of ${keys.source} at ${keys.revision}`);
      continue;
    }
    if (arity < 0) {
      while (i + 1 < words.length && !isFlag(words[i + 1])) i++;
      continue;
    }
    for (let k = 0; k < arity; k++) {
      if (i + 1 >= words.length || isFlag(words[i + 1])) {
        problems.push(`${w} takes ${arity} value${arity === 1 ? "" : "s"}`);
        break;
      }
      i++;
    }
  }
  return problems;
}

/** The engine command's words of a launch script and their problems against the engine's key list. */
export function checkLaunchScript(engine: Engine, script: string): { words: string[]; problems: string[] } {
  const keys = engineKeys(engine);
  const words = commandWords(script, keys.launch);
  return {
    words,
    problems:
      engine === "verl"
        ? checkVerlWords(words, keys as VerlKeys)
        : checkOpenRlhfWords(words, keys as OpenRlhfKeys),
  };
}
