/**
 * checkDataFile: the quick look `m2rl validate` takes at a data file (header and first rows only) and the reasons
 * it gives for a file a run could not read.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataError } from "@m2rl/core/errors";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { checkDataFile } from "./check.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-check-"));
const put = (name: string, content: string | Uint8Array | ArrayBuffer) => {
  writeFileSync(join(dir, name), content instanceof ArrayBuffer ? new Uint8Array(content) : content);
  return name;
};
const row = (i: number) =>
  JSON.stringify({ prompt: `What is ${i}+${i}?`, reward_model: { ground_truth: String(2 * i) } });

async function reason(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error("expected the check to refuse the file");
}

describe("checkDataFile: JSONL", () => {
  it("accepts verl rows and IFEval-style rows, relative to baseDir, reporting the rows it looked at", async () => {
    put("ok.jsonl", [row(1), "", row(2)].join("\n"));
    const r = await checkDataFile("ok.jsonl", { baseDir: dir });
    expect(r).toMatchObject({ file: join(dir, "ok.jsonl"), format: "jsonl", rowsChecked: 2 });
    put(
      "if.jsonl",
      JSON.stringify({ key: 1, prompt: "No commas.", instruction_id_list: ["x"], kwargs: [{}] }),
    );
    expect((await checkDataFile(join(dir, "if.jsonl"))).rowsChecked).toBe(1);
  });

  it("missing file, a folder, an empty file", async () => {
    expect((await reason(checkDataFile("nope.jsonl", { baseDir: dir }))).message).toMatch(
      /nope\.jsonl: not found/,
    );
    mkdirSync(join(dir, "folder.jsonl"), { recursive: true });
    expect((await reason(checkDataFile("folder.jsonl", { baseDir: dir }))).message).toMatch(
      /folder\.jsonl: not a file/,
    );
    put("empty.jsonl", "\n\n");
    expect((await reason(checkDataFile("empty.jsonl", { baseDir: dir }))).message).toMatch(/has no rows/);
  });

  it("names the line that is not JSON, not an object, without prompt or ground truth", async () => {
    put("bad-json.jsonl", [row(1), row(2), "{oops"].join("\n"));
    const e = await reason(checkDataFile("bad-json.jsonl", { baseDir: dir }));
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/bad-json\.jsonl:3: not JSON/);
    put("array.jsonl", `${row(1)}\n[1]`);
    expect((await reason(checkDataFile("array.jsonl", { baseDir: dir }))).line).toBe(2);
    put("no-prompt.jsonl", `${row(1)}\n${JSON.stringify({ reward_model: { ground_truth: "1" } })}`);
    const np = await reason(checkDataFile("no-prompt.jsonl", { baseDir: dir }));
    expect([np.line, np.path]).toEqual([2, "prompt"]);
    put("no-truth.jsonl", JSON.stringify({ prompt: "x", reward_model: { style: "rule" } }));
    const nt = await reason(checkDataFile("no-truth.jsonl", { baseDir: dir }));
    expect(nt.line).toBe(1);
    expect(nt.message).toMatch(/no ground truth/);
  });

  it("looks at the first rows only: a bad line past them is not read", async () => {
    const lines = Array.from({ length: 50 }, (_, i) => row(i));
    put("late-bad.jsonl", [...lines, "{oops"].join("\n"));
    const r = await checkDataFile("late-bad.jsonl", { baseDir: dir, maxRows: 10 });
    expect(r.rowsChecked).toBe(10);
    expect((await reason(checkDataFile("late-bad.jsonl", { baseDir: dir }))).line).toBe(51);
  });

  it("a file whose format the name does not tell needs a format", async () => {
    put("data.txt", row(1));
    expect((await reason(checkDataFile("data.txt", { baseDir: dir }))).message).toMatch(
      /cannot tell the data format/,
    );
    expect((await checkDataFile("data.txt", { baseDir: dir, format: "jsonl" })).format).toBe("jsonl");
  });
});

describe("checkDataFile: Parquet", () => {
  const verl = (codec?: string, compressors?: Record<string, (b: Uint8Array) => Uint8Array>) =>
    parquetWriteBuffer({
      columnData: [
        { name: "prompt", data: ["1+1=", "2+2="], type: "STRING" },
        { name: "reward_model", data: [{ ground_truth: "2" }, { ground_truth: "4" }], type: "JSON" },
      ],
      ...(codec ? { codec: codec as "SNAPPY", compressors } : {}),
    });

  it("reads the footer and the first rows; 'verl' and a name without extension mean Parquet", async () => {
    put("ok.parquet", verl());
    expect(await checkDataFile("ok.parquet", { baseDir: dir })).toMatchObject({
      format: "parquet",
      rowsChecked: 2,
      rows: 2,
      columns: ["prompt", "reward_model"],
    });
    put("verl-data", verl());
    expect((await checkDataFile("verl-data", { baseDir: dir, format: "verl" })).format).toBe("parquet");
  });

  it("a Parquet file without the needed columns names what it has", async () => {
    put(
      "no-cols.parquet",
      parquetWriteBuffer({ columnData: [{ name: "text", data: ["a", "b"], type: "STRING" }] }),
    );
    const e = await reason(checkDataFile("no-cols.parquet", { baseDir: dir }));
    expect(e.message).toMatch(/no prompt column \(prompt, question or problem\); columns: text/);
    put(
      "no-truth.parquet",
      parquetWriteBuffer({ columnData: [{ name: "prompt", data: ["a"], type: "STRING" }] }),
    );
    expect((await reason(checkDataFile("no-truth.parquet", { baseDir: dir }))).message).toMatch(
      /no ground-truth column/,
    );
  });

  it("an unsupported codec is refused with its name, before any page is read", async () => {
    put("lzo.parquet", verl("LZO", { LZO: (b) => b }));
    const e = await reason(checkDataFile("lzo.parquet", { baseDir: dir }));
    expect(e.message).toMatch(
      /column .prompt. uses compression codec LZO, which is not supported \(supported: .*ZSTD/,
    );
  });

  it("not Parquet at all", async () => {
    put("junk.parquet", "this is not parquet at all, just text");
    expect((await reason(checkDataFile("junk.parquet", { baseDir: dir }))).message).toMatch(
      /junk\.parquet: not a readable Parquet file/,
    );
  });
});
