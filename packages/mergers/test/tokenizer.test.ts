/**
 * tokenizer_source and chat_template: each takes effect in the output folder or is refused as a config error with
 * the line it is on (never accepted and ignored).
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mergeFromFile, parseMergeConfig } from "../src/index.ts";
import { makeFamily, tempDir } from "./fixtures.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("m2rl-merge-tok-"));
  await makeFamily(dir, 2);
});
afterEach(async () => cleanup());

const TEMPLATE_A = "{% for m in messages %}A:{{ m.content }}{% endfor %}";
const TEMPLATE_B = "{% for m in messages %}B:{{ m.content }}{% endfor %}";

async function tokenizer(folder: string, vocab: string, template?: string): Promise<void> {
  await writeFile(join(dir, folder, "tokenizer.json"), vocab);
  const cfg: Record<string, unknown> = { tokenizer_class: "PreTrainedTokenizerFast" };
  if (template !== undefined) cfg.chat_template = template;
  await writeFile(join(dir, folder, "tokenizer_config.json"), JSON.stringify(cfg));
}

const HEAD = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\n";

async function merge(extra: string): Promise<string> {
  const cfg = join(dir, "merge.yml");
  await writeFile(cfg, HEAD + extra);
  const out = join(dir, "out");
  await mergeFromFile(cfg, { outDir: out, workers: 0, durable: false });
  return out;
}

async function refused(extra: string): Promise<ConfigError> {
  const cfg = join(dir, "merge.yml");
  await writeFile(cfg, HEAD + extra);
  const e = await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 }).catch((x) => x);
  expect(e).toBeInstanceOf(ConfigError);
  expect(existsSync(join(dir, "out"))).toBe(false);
  return e as ConfigError;
}

const readJson = async (p: string) => JSON.parse(await readFile(p, "utf8"));

describe("tokenizer_source", () => {
  it("an absolute path is used as is (not joined to the config's folder)", async () => {
    await tokenizer("ft1", '{"v":"ft1"}');
    const out = await merge(`tokenizer_source: ${join(dir, "ft1")}\n`);
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe('{"v":"ft1"}');
  });

  it("a relative path is relative to the config's folder; base is the base model's", async () => {
    await tokenizer("ft0", '{"v":"ft0"}');
    expect(await readFile(join(await merge("tokenizer_source: ft0\n"), "tokenizer.json"), "utf8")).toBe(
      '{"v":"ft0"}',
    );
  });

  it("a path that does not exist, or holds no tokenizer, is a config error at its line", async () => {
    const e = await refused("tokenizer_source: ./nope\n");
    expect(e.message).toMatch(/merge\.yml:6 tokenizer_source: tokenizer_source '.*nope' does not exist/);
    const noTok = await refused("tokenizer_source: ft0\n"); // ft0 has weights but no tokenizer files
    expect(noTok.message).toMatch(/merge\.yml:6 tokenizer_source: .*ft0' holds no tokenizer/);
  });

  it("the tokenizer block is refused as not supported yet (vocabulary union), at its line", () => {
    let e: unknown;
    try {
      parseMergeConfig(`${HEAD}tokenizer:\n  source: union\n`, join(dir, "merge.yml"));
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).toMatch(/merge\.yml:6 tokenizer: .*not supported yet/);
    expect(msg).toMatch(/union/);
    expect(msg).not.toMatch(/use 'models'/);
  });
});

describe("chat_template", () => {
  it("auto: the template most inputs share (ties: the base's first) goes into tokenizer_config.json", async () => {
    await tokenizer("base", '{"v":"base"}', TEMPLATE_A);
    await tokenizer("ft0", '{"v":"ft0"}', TEMPLATE_B);
    await tokenizer("ft1", '{"v":"ft1"}', TEMPLATE_B);
    let out = await merge("chat_template: auto\n");
    expect((await readJson(join(out, "tokenizer_config.json"))).chat_template).toBe(TEMPLATE_B);
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe('{"v":"base"}');
    await tokenizer("ft1", '{"v":"ft1"}', TEMPLATE_A);
    await cleanupOut();
    out = await merge("chat_template: auto\n");
    expect((await readJson(join(out, "tokenizer_config.json"))).chat_template).toBe(TEMPLATE_A);
  });

  it("auto also reads chat_template.jinja; the template chosen replaces the copied one", async () => {
    await tokenizer("base", '{"v":"base"}');
    await writeFile(join(dir, "base", "chat_template.jinja"), TEMPLATE_A);
    const out = await merge("chat_template: auto\n");
    expect((await readJson(join(out, "tokenizer_config.json"))).chat_template).toBe(TEMPLATE_A);
    expect(existsSync(join(out, "chat_template.jinja"))).toBe(false);
  });

  it("a Jinja template given inline is written as the output's template", async () => {
    await tokenizer("base", '{"v":"base"}', TEMPLATE_A);
    const out = await merge(`chat_template: ${JSON.stringify(TEMPLATE_B)}\n`);
    expect((await readJson(join(out, "tokenizer_config.json"))).chat_template).toBe(TEMPLATE_B);
  });

  it("auto without any template, or a named template: config errors at the line", async () => {
    await tokenizer("base", '{"v":"base"}');
    expect((await refused("chat_template: auto\n")).message).toMatch(
      /merge\.yml:6 chat_template: chat_template 'auto' found no chat template/,
    );
    expect((await refused("chat_template: chatml\n")).message).toMatch(
      /merge\.yml:6 chat_template: .*'chatml'.*not supported/,
    );
  });
});

async function cleanupOut(): Promise<void> {
  const { rm } = await import("node:fs/promises");
  await rm(join(dir, "out"), { recursive: true, force: true });
}
