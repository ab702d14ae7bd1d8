/**
 * Parquet compression codecs verl datasets come with (zstd above all). The files are written by DuckDB, an
 * independent Parquet writer, so the reader is tested against real compressed pages, not its own writer's.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mathDomainFactory } from "../math/domain.ts";
import { tasksFromBytes } from "./load.ts";
import { readRows } from "./rows.ts";
import { stringGroundTruth } from "./verl.ts";

const CODECS = ["zstd", "gzip", "snappy", "brotli"] as const;
const dir = mkdtempSync(join(tmpdir(), "m2rl-codecs-"));
const fileOf = (codec: string) => join(dir, `verl-${codec}.parquet`);

/** verl columns: prompt as a chat list, reward_model as a struct, extra_info.index as BIGINT. */
const VERL_SELECT = `
  SELECT 'gsm8k' AS data_source,
         [{'role': 'user', 'content': 'What is ' || i || '+' || i || '?'}] AS prompt,
         'math' AS ability,
         {'style': 'rule', 'ground_truth': (2 * i)::VARCHAR} AS reward_model,
         {'index': i + 100, 'split': 'train'} AS extra_info
  FROM range(1, 41) t(i)`;

let instance: DuckDBInstance;
beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  for (const codec of CODECS)
    await c.run(`COPY (${VERL_SELECT}) TO '${fileOf(codec)}' (FORMAT parquet, COMPRESSION ${codec})`);
  c.closeSync();
});
afterAll(() => instance?.closeSync());

describe("Parquet codecs", () => {
  it.each(CODECS)("%s: verl rows read back as tasks", async (codec) => {
    const bytes = new Uint8Array(readFileSync(fileOf(codec)));
    const rows = await readRows(bytes, fileOf(codec));
    expect(rows).toHaveLength(40);
    expect(rows[2].data.extra_info).toEqual({ index: 103, split: "train" });
    const tasks = await tasksFromBytes(bytes, {
      file: fileOf(codec),
      domain: "math",
      split: "eval",
      mapGroundTruth: stringGroundTruth,
    });
    expect(tasks.slice(0, 2).map((t) => [t.id, t.prompt, t.groundTruth])).toEqual([
      ["math-101", "What is 1+1?", "2"],
      ["math-102", "What is 2+2?", "4"],
    ]);
  });

  it("a zstd eval file serves a domain's eval split", async () => {
    const d = await mathDomainFactory.create({ data: { eval: fileOf("zstd") } }, {});
    const tasks = await d.tasks({ split: "eval", seed: 0, count: 3 });
    expect(tasks.map((t) => t.groundTruth)).toEqual(["2", "4", "6"]);
    expect((await d.verify({ response: "Answer: 4", groundTruth: tasks[1].groundTruth })).status).toBe(
      "correct",
    );
  });
});
