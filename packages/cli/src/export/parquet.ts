/**
 * verl's dataset format as a Parquet file (snappy-compressed pages, hyparquet-writer's default codec), with the
 * column types of verl's own example datasets (examples/data_preprocess/*.py write them through pandas / pyarrow):
 * `data_source` string, `prompt` list<struct<role, content>>, `ability` string,
 * `reward_model` struct<style, ground_truth>, `extra_info` struct<index int64, split, domain, task_id>.
 *
 * `extra_info.domain` is the verifier `m2rl serve` grades the row with (it reads `extra_info.domain` first);
 * `extra_info.index` is the row's place in the file (verl copies it to each sample: the curriculum sampler reads it
 * back); `extra_info.task_id` is M2RL's task id.
 */
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import type { ExportRow } from "./arm-data.ts";

const utf8 = (name: string) => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  repetition_type: "OPTIONAL",
});

/** Parquet schema of the verl columns (the flattened SchemaElement list of the format). */
const SCHEMA = [
  { name: "schema", num_children: 5 },
  utf8("data_source"),
  { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
  utf8("role"),
  utf8("content"),
  utf8("ability"),
  { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
  utf8("style"),
  utf8("ground_truth"),
  { name: "extra_info", repetition_type: "OPTIONAL", num_children: 4 },
  { name: "index", type: "INT64", repetition_type: "OPTIONAL" },
  utf8("split"),
  utf8("domain"),
  utf8("task_id"),
];

/** The rows as a verl Parquet file (snappy). `split` goes into extra_info. */
export function verlParquet(rows: readonly ExportRow[], split: "train" | "test"): Uint8Array {
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    codec: "SNAPPY",
    columnData: [
      { name: "data_source", data: rows.map((r) => r.domain) },
      {
        name: "prompt",
        data: rows.map((r) => r.messages.map((m) => ({ role: m.role, content: m.content }))),
      },
      { name: "ability", data: rows.map((r) => r.verifier) },
      { name: "reward_model", data: rows.map((r) => ({ style: "rule", ground_truth: r.groundTruth })) },
      {
        name: "extra_info",
        data: rows.map((r, i) => ({ index: BigInt(i), split, domain: r.verifier, task_id: r.taskId })),
      },
    ],
    // hyparquet-writer's SchemaElement type is not exported from its entry point
    schema: SCHEMA as Parameters<typeof parquetWrite>[0]["schema"],
    rowGroupSize: 10_000,
  });
  return new Uint8Array(writer.getBuffer());
}
