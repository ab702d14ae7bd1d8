import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataError } from "@m2rl/core";
import { ByteWriter, parquetWrite, parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { ifevalDomainFactory } from "../ifeval/domain.ts";
import { mathDomainFactory } from "../math/domain.ts";
import { scienceDomainFactory } from "../science/domain.ts";
import { loadSplit, tasksFromBytes } from "./load.ts";
import { formatOf, readJsonl, readRows } from "./rows.ts";
import { stringGroundTruth } from "./verl.ts";

const enc = new TextEncoder();
const jsonl = (rows: unknown[]) =>
  enc.encode(rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n"));

const VERL_ROWS = [
  {
    data_source: "gsm8k",
    prompt: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "What is 2+2?" },
    ],
    ability: "math",
    reward_model: { style: "rule", ground_truth: "4" },
    extra_info: { index: 7, split: "train" },
  },
  {
    data_source: "math",
    prompt: "What is 3+3?",
    ability: "math",
    reward_model: { style: "rule", ground_truth: "6" },
    extra_info: { index: 8 },
  },
];

async function thrown(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("JSONL rows", () => {
  it("reads objects with their line numbers, skipping blank lines", () => {
    const rows = readJsonl(enc.encode('{"a":1}\n\n{"a":2}\r\n'), "f.jsonl");
    expect(rows).toEqual([
      { data: { a: 1 }, line: 1 },
      { data: { a: 2 }, line: 3 },
    ]);
  });
  it("names file and line of a bad line", async () => {
    const e = await thrown(() => readJsonl(enc.encode('{"a":1}\n{oops\n'), "data/x.jsonl"));
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).file).toBe("data/x.jsonl");
    expect((e as DataError).line).toBe(2);
    expect((e as Error).message).toContain("data/x.jsonl:2");
  });
  it("rejects non-object lines and invalid UTF-8", async () => {
    expect(((await thrown(() => readJsonl(enc.encode("[1,2]"), "f.jsonl"))) as DataError).line).toBe(1);
    expect(await thrown(() => readJsonl(new Uint8Array([0xff, 0xfe, 0x7b]), "f.jsonl"))).toBeInstanceOf(
      DataError,
    );
  });
  it("tells formats from extensions", async () => {
    expect(formatOf("a.parquet")).toBe("parquet");
    expect(formatOf("a.jsonl")).toBe("jsonl");
    expect(formatOf("a.txt", "jsonl")).toBe("jsonl");
    expect(await thrown(() => formatOf("a.csv"))).toBeInstanceOf(DataError);
  });
});

describe("verl rows → tasks", () => {
  it("maps prompt (chat list or string), ground truth, metadata and ids", async () => {
    const tasks = await tasksFromBytes(jsonl(VERL_ROWS), {
      file: "train.jsonl",
      domain: "math",
      split: "train",
      mapGroundTruth: stringGroundTruth,
    });
    expect(tasks).toHaveLength(2);
    expect(tasks[0]).toMatchObject({
      id: "math-7",
      domain: "math",
      prompt: "What is 2+2?",
      groundTruth: "4",
      meta: { dataSource: "gsm8k", ability: "math", line: 1, file: "train.jsonl" },
    });
    expect(tasks[0].meta?.messages).toHaveLength(2);
    expect(tasks[1]).toMatchObject({ id: "math-8", prompt: "What is 3+3?", groundTruth: "6" });
  });
  it("applies the prompt template", async () => {
    const [t] = await tasksFromBytes(jsonl([VERL_ROWS[1]]), {
      file: "f.jsonl",
      domain: "math",
      split: "eval",
      template: "Q: {prompt}\nA:",
      mapGroundTruth: stringGroundTruth,
    });
    expect(t.prompt).toBe("Q: What is 3+3?\nA:");
  });
  it("a row without ground truth or prompt is a DataError naming file, line and field", async () => {
    const rows = [VERL_ROWS[0], { prompt: "x", reward_model: { style: "rule" } }];
    const e = (await thrown(
      tasksFromBytes(jsonl(rows), {
        file: "d.jsonl",
        domain: "math",
        split: "train",
        mapGroundTruth: stringGroundTruth,
      }),
    )) as DataError;
    expect(e).toBeInstanceOf(DataError);
    expect(e.line).toBe(2);
    expect(e.path).toBe("reward_model.ground_truth");
    const e2 = (await thrown(
      tasksFromBytes(jsonl([{ reward_model: { ground_truth: "1" } }]), {
        file: "d.jsonl",
        domain: "math",
        split: "train",
        mapGroundTruth: stringGroundTruth,
      }),
    )) as DataError;
    expect(e2.path).toBe("prompt");
    const e3 = (await thrown(
      tasksFromBytes(
        jsonl([{ prompt: [{ role: "system", content: "x" }], reward_model: { ground_truth: "1" } }]),
        {
          file: "d.jsonl",
          domain: "math",
          split: "train",
          mapGroundTruth: stringGroundTruth,
        },
      ),
    )) as DataError;
    expect(e3.message).toContain("no user message");
  });
});

function verlParquet(): Uint8Array {
  const writer = new ByteWriter();
  const columnData = [
    { name: "data_source", data: ["gpqa", "gpqa"] },
    {
      name: "prompt",
      data: [
        [{ role: "user", content: "Pick one: A) x B) y" }],
        [{ role: "user", content: "Pick: A) p B) q" }],
      ],
    },
    { name: "ability", data: ["science", "science"] },
    {
      name: "reward_model",
      data: [
        { style: "rule", ground_truth: "B" },
        { style: "rule", ground_truth: "A" },
      ],
    },
  ];
  parquetWrite({
    writer,
    columnData,
    schema: [
      { name: "root", num_children: 4 },
      { name: "data_source", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
      { name: "role", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "content", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "ability", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
      { name: "style", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "ground_truth", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      // biome-ignore lint/suspicious/noExplicitAny: hyparquet-writer's SchemaElement type is not exported
    ] as any,
  });
  return new Uint8Array(writer.getBuffer());
}

describe("Parquet", () => {
  it("reads verl-shaped nested columns (list<struct>, struct)", async () => {
    const tasks = await tasksFromBytes(verlParquet(), {
      file: "gpqa.parquet",
      domain: "science",
      split: "eval",
      mapGroundTruth: stringGroundTruth,
    });
    expect(tasks.map((t) => [t.prompt, t.groundTruth, t.meta?.line])).toEqual([
      ["Pick one: A) x B) y", "B", 1],
      ["Pick: A) p B) q", "A", 2],
    ]);
  });
  it("reads JSON-typed columns and INT64 as numbers", async () => {
    const buf = parquetWriteBuffer({
      columnData: [
        { name: "prompt", data: ["1+1=", "2+2="], type: "STRING" },
        { name: "reward_model", data: [{ ground_truth: "2" }, { ground_truth: "4" }], type: "JSON" },
        { name: "extra_info", data: [{ index: 1 }, { index: 2 }], type: "JSON" },
        { name: "n", data: [5n, 6n], type: "INT64" },
      ],
    });
    const rows = await readRows(new Uint8Array(buf), "x.parquet");
    expect(rows[1].data.n).toBe(6);
    const tasks = await tasksFromBytes(new Uint8Array(buf), {
      file: "x.parquet",
      domain: "math",
      split: "train",
      mapGroundTruth: stringGroundTruth,
    });
    expect(tasks.map((t) => t.groundTruth)).toEqual(["2", "4"]);
  });
  it("a corrupt file is a DataError naming it", async () => {
    const e = await thrown(readRows(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), "bad.parquet"));
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toContain("bad.parquet");
  });
});

describe("domains load data files", () => {
  const dir = mkdtempSync(join(tmpdir(), "m2rl-data-"));
  writeFileSync(join(dir, "train.jsonl"), jsonl(VERL_ROWS));
  writeFileSync(join(dir, "eval.parquet"), verlParquet());
  writeFileSync(
    join(dir, "ifeval.jsonl"),
    jsonl([
      {
        key: 1,
        prompt: "Write without commas.",
        instruction_id_list: ["punctuation:no_comma"],
        kwargs: [{}],
      },
      {
        prompt: [{ role: "user", content: "Say hi in caps" }],
        reward_model: {
          ground_truth: JSON.stringify({
            instruction_id_list: ["change_case:english_capital"],
            kwargs: [{}],
          }),
        },
      },
    ]),
  );
  writeFileSync(
    join(dir, "bad-if.jsonl"),
    jsonl([{ prompt: "x", instruction_id_list: ["keywords:unknown"], kwargs: [{}] }]),
  );

  it("math: baseDir-relative train file via Node fs, shuffled by seed, truncated by count", async () => {
    const d = await mathDomainFactory.create({ data: { train: "train.jsonl" } }, { baseDir: dir });
    const all = await d.tasks({ split: "train", seed: 1 });
    expect(all.map((t) => t.groundTruth).sort()).toEqual(["4", "6"]);
    expect(await d.tasks({ split: "train", seed: 1, count: 1 })).toHaveLength(1);
    // No eval file: the synthetic generator serves the eval split.
    const ev = await d.tasks({ split: "eval", seed: 1, count: 3 });
    expect(ev[0].meta?.source).toBe("synthetic");
  });
  it("science: Parquet through DomainContext.readFile", async () => {
    const seen: string[] = [];
    const { readFile } = await import("node:fs/promises");
    const d = await scienceDomainFactory.create(
      { data: { eval: "eval.parquet" } },
      {
        baseDir: dir,
        readFile: async (p) => {
          seen.push(p);
          return new Uint8Array(await readFile(p));
        },
      },
    );
    const tasks = await d.tasks({ split: "eval", seed: 0 });
    expect(seen).toEqual([join(dir, "eval.parquet")]);
    expect((await d.verify({ response: "Answer: B", groundTruth: tasks[0].groundTruth })).status).toBe(
      "correct",
    );
  });
  it("ifeval: native IFEval rows and verl rows with a JSON ground truth", async () => {
    const d = await ifevalDomainFactory.create({ data: { train: join(dir, "ifeval.jsonl") } }, {});
    const tasks = await d.tasks({ split: "train", seed: 0 });
    expect(tasks).toHaveLength(2);
    const byPrompt = Object.fromEntries(tasks.map((t) => [t.prompt, t]));
    expect(
      (await d.verify({ response: "HELLO THERE", groundTruth: byPrompt["Say hi in caps"].groundTruth }))
        .status,
    ).toBe("correct");
    expect(
      (await d.verify({ response: "a, b", groundTruth: byPrompt["Write without commas."].groundTruth }))
        .status,
    ).toBe("incorrect");
  });
  it("ifeval: an unknown instruction id in a data file is a DataError at load time", async () => {
    const d = await ifevalDomainFactory.create({ data: { train: join(dir, "bad-if.jsonl") } }, {});
    const e = (await thrown(d.tasks({ split: "train", seed: 0 }))) as DataError;
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain("keywords:unknown");
    expect(e.line).toBe(1);
  });
  it("a missing file is a DataError naming it", async () => {
    const e = await thrown(
      loadSplit(
        { train: "nope.jsonl" },
        { split: "train", seed: 0 },
        {
          domain: "math",
          context: { baseDir: dir },
          mapGroundTruth: stringGroundTruth,
        },
      ),
    );
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toContain("nope.jsonl");
  });
});
