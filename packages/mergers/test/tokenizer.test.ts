/**
 * tokenizer_source and chat_template: each takes effect in the output folder or is refused as a config error with
 * the line it is on (never accepted and ignored). Merged vocabularies: tokenizer-union.test.ts.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NAMED_CHAT_TEMPLATES } from "../src/engine/chat-templates.ts";
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

/** A tokenizer.json of the fixtures' 16-token vocabulary; `tag` tells copies apart. */
const tok16 = (tag: string) =>
  JSON.stringify({
    version: tag,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: "BPE",
      vocab: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, i])),
      merges: [],
    },
  });

describe("tokenizer_source", () => {
  it("an absolute path is used as is (not joined to the config's folder)", async () => {
    await tokenizer("base", tok16("base"));
    await tokenizer("ft1", tok16("ft1"));
    const out = await merge(`tokenizer_source: ${join(dir, "ft1")}\n`);
    // the same vocabulary: the files are copied as they are
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe(tok16("ft1"));
  });

  it("a relative path is relative to the config's folder; base is the base model's", async () => {
    await tokenizer("base", tok16("base"));
    await tokenizer("ft0", tok16("ft0"));
    expect(await readFile(join(await merge("tokenizer_source: ft0\n"), "tokenizer.json"), "utf8")).toBe(
      tok16("ft0"),
    );
    await cleanupOut();
    expect(await readFile(join(await merge("tokenizer_source: base\n"), "tokenizer.json"), "utf8")).toBe(
      tok16("base"),
    );
  });

  it("a tokenizer.json that is not a Hugging Face tokenizer is a config error at the source's line", async () => {
    await tokenizer("ft1", '{"v":"ft1"}');
    expect((await refused("tokenizer_source: ft1\n")).message).toMatch(
      /merge\.yml:6 tokenizer_source: cannot read the vocabulary of .*ft1\/tokenizer\.json: no 'model' object/,
    );
  });

  it("a path that does not exist, or holds no tokenizer, is a config error at its line", async () => {
    const e = await refused("tokenizer_source: ./nope\n");
    expect(e.message).toMatch(/merge\.yml:6 tokenizer_source: tokenizer_source '.*nope' does not exist/);
    const noTok = await refused("tokenizer_source: ft0\n"); // ft0 has weights but no tokenizer files
    expect(noTok.message).toMatch(/merge\.yml:6 tokenizer_source: .*ft0' holds no tokenizer/);
  });

  it("the tokenizer block: source defaults to union; bad entries and both forms at once are errors at their line", () => {
    const file = join(dir, "merge.yml");
    const cfg = parseMergeConfig(`${HEAD}tokenizer:\n  pad_to_multiple_of: 8\n`, file);
    expect(cfg.tokenizer).toEqual({ source: "union", tokens: [], padToMultipleOf: 8, key: "tokenizer" });
    expect(parseMergeConfig(`${HEAD}tokenizer_source: ft0\n`, file).tokenizer).toEqual({
      source: "ft0",
      tokens: [],
      key: "tokenizer_source",
    });
    const err = (extra: string) => {
      try {
        parseMergeConfig(HEAD + extra, file);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(err("tokenizer:\n  sources: union\n")).toMatch(
      /merge\.yml:7 tokenizer\.sources: unknown field 'sources'/,
    );
    expect(err("tokenizer:\n  pad_to_multiple_of: 0\n")).toMatch(
      /merge\.yml:7 tokenizer\.pad_to_multiple_of: must be >= 1/,
    );
    expect(err("tokenizer:\n  tokens:\n    x:\n      source: {kind: one}\n")).toMatch(
      /merge\.yml:9 tokenizer\.tokens\.x\.source\.kind: unknown source kind "one"/,
    );
    expect(err("tokenizer:\n  tokens:\n    x: {force: yes}\n")).toMatch(
      /tokenizer\.tokens\.x\.force: must be boolean/,
    );
    expect(err("tokenizer_source: base\ntokenizer:\n  source: union\n")).toMatch(
      /merge\.yml:7 tokenizer: set tokenizer_source or the tokenizer block, not both/,
    );
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

  it("a name of mergekit's templates is that template (mergekit/_data/chat_templates)", async () => {
    await tokenizer("base", '{"v":"base"}', TEMPLATE_A);
    const out = await merge("chat_template: llama3\n");
    const t = (await readJson(join(out, "tokenizer_config.json"))).chat_template;
    expect(t).toBe(NAMED_CHAT_TEMPLATES.llama3);
    expect(t).toContain("<|start_header_id|>");
    expect(Object.keys(NAMED_CHAT_TEMPLATES).sort()).toEqual([
      "alpaca",
      "chatml",
      "exaone",
      "llama3",
      "mistral",
    ]);
  });

  it("auto without any template, or an unknown name: config errors at the line", async () => {
    await tokenizer("base", '{"v":"base"}');
    expect((await refused("chat_template: auto\n")).message).toMatch(
      /merge\.yml:6 chat_template: chat_template 'auto' found no chat template/,
    );
    expect((await refused("chat_template: chatmlx\n")).message).toMatch(
      /merge\.yml:6 chat_template: chat_template 'chatmlx' is neither 'auto', a template name \(alpaca, chatml, exaone, llama3, mistral\) nor a Jinja template/,
    );
  });
});

async function cleanupOut(): Promise<void> {
  const { rm } = await import("node:fs/promises");
  await rm(join(dir, "out"), { recursive: true, force: true });
}
