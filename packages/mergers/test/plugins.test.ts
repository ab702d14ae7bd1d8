/**
 * Merge methods that plugins register: looked up in a plugin host's registry when parsing (unknown names list the
 * registered ones), run in-process from the host's method object, and in worker threads, which import the plugin
 * modules they are given and fail clearly when the method is not there.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "@m2rl/core/errors";
import type { MergeMethod } from "@m2rl/core/merge";
import { type Plugin, PluginHost, registryPlugin } from "@m2rl/core/plugin";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BUILTIN_METHODS,
  mergeMethodsPlugin,
  parseMergeConfig,
  planMerge,
  type RunOptions,
  runMerge,
} from "../src/index.ts";
import { makeFamily, tempDir } from "./fixtures.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

/** A plugin module in plain JS: registers `shift` (base + the global `by`), as a third-party file would. */
const SHIFT_PLUGIN = `
export const shift = {
  name: "shift",
  description: "base + by",
  parameters: [{ name: "by", type: "number", default: 1, scope: "global", perTensor: false, description: "offset" }],
  base: "required",
  minModels: 1,
  mergeTensor({ base, params }) {
    return base.map((x) => x + params.global.by);
  },
};
export default { name: "test-shift", apply(host) { host.registry.mergeMethods.register(this.name, shift); } };
`;

async function shiftHost(): Promise<{ host: PluginHost; url: string; method: MergeMethod }> {
  const file = join(dir, "shift-plugin.mjs");
  await writeFile(file, SHIFT_PLUGIN);
  const url = pathToFileURL(file).href;
  const mod = (await import(url)) as { default: Plugin; shift: MergeMethod };
  return { host: new PluginHost([mergeMethodsPlugin, mod.default]), url, method: mod.shift };
}

const CONFIG = "merge_method: shift\nbase_model: base\nmodels:\n  - model: ft0\nparameters: { by: 0.5 }\n";

async function merged(out: string): Promise<Map<string, number[]>> {
  const ck = await openCheckpoint(join(dir, out));
  const r = new Map<string, number[]>();
  for (const n of ck.names) r.set(n, [...(await ck.readFloat32(n))]);
  await ck.close();
  return r;
}

describe("merge methods from a plugin host", () => {
  it("the built-in plugin registers every built-in method", () => {
    const host = new PluginHost([mergeMethodsPlugin]);
    expect(host.registry.mergeMethods.names()).toEqual(BUILTIN_METHODS.map((m) => m.name));
  });

  it("parses with the host's registry: plugin methods and parameters are checked, unknown names list all", async () => {
    const { host, method } = await shiftHost();
    const registry = host.registry.mergeMethods;
    const file = join(dir, "merge.yml");
    expect(parseMergeConfig(CONFIG, file, registry).method).toBe(method);
    expect(() => parseMergeConfig(CONFIG, file)).toThrow(/unknown merge_method 'shift' \(known: linear, /);
    expect(() =>
      parseMergeConfig(CONFIG.replace("merge_method: shift", "merge_method: shfit"), file, registry),
    ).toThrow(
      /merge_method: unknown merge_method 'shfit' \(did you mean 'shift'\?\) \(known: linear, .*, shift\)/,
    );
    expect(() => parseMergeConfig(CONFIG.replace("by: 0.5", "bye: 0.5"), file, registry)).toThrow(
      /parameters\.bye: unknown parameter 'bye' for merge method 'shift' \(known: by\)/,
    );
    expect(() => parseMergeConfig(CONFIG.replace("by: 0.5", "by: yes"), file, registry)).toThrow(
      /'by' must be a number, got "yes"/,
    );
    // a lookup function still works (no list of names to offer)
    expect(parseMergeConfig(CONFIG, file, (n) => registry.find(n)).method).toBe(method);
    // an entry registered with the info only cannot run
    const infoOnly = new PluginHost([registryPlugin("infos", { mergeMethods: [{ name: "shift" }] })]);
    const e = (() => {
      try {
        parseMergeConfig(CONFIG, file, infoOnly.registry.mergeMethods);
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e?.message).toMatch(/merge method 'shift' \(registered by plugin 'infos'\) cannot run/);
  });

  it("runs a plugin's method in worker threads (they import its module) and in-process: same bytes", async () => {
    const fam = await makeFamily(dir, 1);
    const { host, url } = await shiftHost();
    const config = parseMergeConfig(CONFIG, join(dir, "merge.yml"), host.registry.mergeMethods);
    const run = async (out: string, o: Partial<RunOptions>) =>
      runMerge(await planMerge(config, { outDir: join(dir, out) }), { outDir: join(dir, out), ...o });

    expect((await run("out-w", { workers: 2, plugins: [url] })).workers).toBe(2);
    expect((await run("out-i", { workers: 0, plugins: [url] })).workers).toBe(0);
    // without the module the workers could not find it: the merge runs in-process
    expect((await run("out-n", { workers: 2 })).workers).toBe(0);
    const expected = new Map(
      fam.tensors[0].map((t) => [t.name, [...(t.data as Float32Array)].map((x) => Math.fround(x + 0.5))]),
    );
    for (const out of ["out-w", "out-i", "out-n"]) expect(await merged(out)).toEqual(expected);
  });

  it("a worker that cannot find the method, or cannot load a module, fails the merge naming it; nothing is left", async () => {
    await makeFamily(dir, 1);
    const { host } = await shiftHost();
    const config = parseMergeConfig(CONFIG, join(dir, "merge.yml"), host.registry.mergeMethods);
    const other = join(dir, "other-plugin.mjs");
    await writeFile(
      other,
      'export default { name: "other", apply(host) { host.registry.mergeMethods.register("other", { name: "unshift" }); } };\n',
    );
    const broken = join(dir, "broken-plugin.mjs");
    await writeFile(broken, "throw new Error('kaboom');\n");
    const plan = await planMerge(config, { outDir: join(dir, "out") });
    await expect(
      runMerge(plan, { outDir: join(dir, "out"), workers: 2, plugins: [pathToFileURL(other).href] }),
    ).rejects.toThrow(
      /merge worker: merge method 'shift' is not registered after loading the plugin module\(s\) file:.*other-plugin\.mjs \(they register: unshift\)/,
    );
    await expect(
      runMerge(plan, { outDir: join(dir, "out"), workers: 1, plugins: [pathToFileURL(broken).href] }),
    ).rejects.toThrow(/merge worker: plugin module file:.*broken-plugin\.mjs failed to load: kaboom/);
    expect((await readdir(dir)).filter((f) => f.startsWith("out"))).toEqual([]);
  });
});
