import { describe, expect, it } from "vitest";
import { CheckpointError } from "../errors/index.ts";
import { MemorySink, MemorySource } from "../io/index.ts";
import {
  Checkpoint,
  CheckpointWriter,
  INDEX_FILE,
  parseShardIndex,
  planShards,
  SINGLE_FILE,
} from "./checkpoint.ts";
import { encodeHeader, MAX_HEADER_BYTES } from "./header.ts";
import { MemoryFileStore } from "./memory-store.ts";
import { SafetensorsReader } from "./reader.ts";
import { SafetensorsWriter } from "./writer.ts";

/** A safetensors file assembled by hand from a header object and raw data (independent of encodeHeader). */
function handFile(header: unknown, data: Uint8Array, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, headerLenOverride ?? json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32bytes = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

async function open(bytes: Uint8Array): Promise<SafetensorsReader> {
  return SafetensorsReader.open(new MemorySource(bytes, "bad.safetensors"));
}

async function expectBad(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const err = await open(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as Error).message).toMatch(/^bad\.safetensors/);
  expect((err as Error).message).toMatch(pattern);
}

describe("safetensors writer: golden bytes", () => {
  it("writes exactly the bytes of a file built by hand", async () => {
    const sink = new MemorySink("t.safetensors");
    const w = await SafetensorsWriter.create(sink, [
      { name: "a", dtype: "F32", shape: [2] },
      { name: "b", dtype: "F16", shape: [1] },
    ]);
    await w.write("a", new Float32Array([1, -2]));
    await w.write("b", new Float32Array([1]));
    await w.finish();
    // Header JSON (108 bytes) padded with 4 spaces to 112; then 1.0f, -2.0f little-endian, then half 1.0 = 0x3c00.
    const json =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}';
    expect(json.length).toBe(108);
    const padded = `${json}    `; // 108 + 4 = 112 = 14 * 8
    const expected = new Uint8Array([
      112,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode(padded),
      0x00,
      0x00,
      0x80,
      0x3f, // 1.0f
      0x00,
      0x00,
      0x00,
      0xc0, // -2.0f
      0x00,
      0x3c, // half 1.0
    ]);
    expect([...sink.committed!]).toEqual([...expected]);
  });

  it("reads a hand-built file with metadata and mixed dtypes", async () => {
    const data = new Uint8Array([...f32bytes([0.5, 4]), 7, 0, 0, 0, 0x80, 0x3f]);
    const r = await open(
      handFile(
        {
          __metadata__: { format: "pt" },
          w: { dtype: "F32", shape: [2, 1], data_offsets: [0, 8] },
          ids: { dtype: "I32", shape: [1], data_offsets: [8, 12] },
          g: { dtype: "BF16", shape: [], data_offsets: [12, 14] },
        },
        data,
      ),
    );
    expect(r.metadata).toEqual({ format: "pt" });
    expect(r.tensors().map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ["w", "F32", [2, 1]],
      ["ids", "I32", [1]],
      ["g", "BF16", []],
    ]);
    expect([...(await r.readFloat32("w"))]).toEqual([0.5, 4]);
    expect([...(await r.readRaw("ids"))]).toEqual([7, 0, 0, 0]);
    expect([...(await r.readFloat32("g"))]).toEqual([1]);
    expect([...(await r.readFloat32("w", { start: 1, count: 1 }))]).toEqual([4]);
    await expect(r.readFloat32("ids")).rejects.toThrow(/I32 is not a float type/);
  });
});

describe("safetensors round trips", () => {
  it("F32 / F16 / BF16 through writer and reader", async () => {
    const xs = new Float32Array([0, 1, -1.5, 0.1, 1000.25, -3e-5]);
    const sink = new MemorySink("rt");
    const specs = [
      { name: "f32", dtype: "F32" as const, shape: [2, 3] },
      { name: "f16", dtype: "F16" as const, shape: [6] },
      { name: "bf16", dtype: "BF16" as const, shape: [3, 2] },
      { name: "empty", dtype: "F32" as const, shape: [0, 4] },
    ];
    const w = await SafetensorsWriter.create(sink, specs, { note: "x" });
    for (const s of specs) await w.write(s.name, s.name === "empty" ? new Float32Array(0) : xs);
    await w.finish();
    const r = await open(sink.committed!);
    expect(r.metadata).toEqual({ note: "x" });
    expect([...(await r.readFloat32("f32"))]).toEqual([...xs]);
    const f16 = await r.readFloat32("f16");
    const bf16 = await r.readFloat32("bf16");
    for (let i = 0; i < xs.length; i++) {
      expect(Math.abs(f16[i] - xs[i])).toBeLessThanOrEqual(Math.abs(xs[i]) * 2 ** -11 + 2 ** -25);
      expect(Math.abs(bf16[i] - xs[i])).toBeLessThanOrEqual(Math.abs(xs[i]) * 2 ** -8);
    }
    expect((await r.readFloat32("empty")).length).toBe(0);
  });

  it("rejects out-of-order and unfinished writes", async () => {
    const specs = [
      { name: "a", dtype: "F32" as const, shape: [1] },
      { name: "b", dtype: "F32" as const, shape: [1] },
    ];
    const w = await SafetensorsWriter.create(new MemorySink("o"), specs);
    await expect(w.write("b", new Float32Array([1]))).rejects.toThrow(/out of order \(expected a\)/);
    await expect(w.write("a", new Float32Array([1, 2]))).rejects.toThrow(/got 8 bytes, expected 4/);
    await w.write("a", new Float32Array([1]));
    const sink = new MemorySink("o2");
    const w2 = await SafetensorsWriter.create(sink, specs);
    await w2.write("a", new Float32Array([1]));
    await expect(w2.finish()).rejects.toThrow(/before all declared tensors/);
    expect(sink.committed).toBeUndefined();
  });
});

describe("reading into caller buffers", () => {
  it("readFloat32 fills `out` through readInto when the source has it, else by decoding", async () => {
    const sink = new MemorySink("rb");
    const w = await SafetensorsWriter.create(sink, [
      { name: "a", dtype: "F32", shape: [3] },
      { name: "b", dtype: "BF16", shape: [2] },
    ]);
    await w.write("a", new Float32Array([1.5, -2, 3]));
    await w.write("b", new Float32Array([0.5, 4]));
    await w.finish();
    const bytes = sink.committed!;
    let intoCalls = 0;
    const src = new MemorySource(bytes, "into.safetensors");
    const withInto = Object.assign(src, {
      async readInto(offset: number, target: Uint8Array) {
        intoCalls++;
        target.set(await src.read(offset, target.byteLength));
      },
    });
    const r = await SafetensorsReader.open(withInto);
    const out = new Float32Array(3);
    expect(await r.readFloat32("a", undefined, out)).toBe(out);
    expect([...out]).toEqual([1.5, -2, 3]);
    expect(intoCalls).toBe(1);
    const part = new Float32Array(2);
    expect([...(await r.readFloat32("a", { start: 1, count: 2 }, part))]).toEqual([-2, 3]);
    expect([...(await r.readFloat32("b", undefined, new Float32Array(2)))]).toEqual([0.5, 4]); // BF16: decoded
    expect(intoCalls).toBe(2);
    await expect(r.readFloat32("a", undefined, new Float32Array(2))).rejects.toThrow(
      /does not fit 3 elements/,
    );
  });
});

describe("safetensors validation: every bad file is rejected with file and tensor named", () => {
  const good = () =>
    handFile(
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
      },
      f32bytes([1, 2, 3]),
    );

  it("accepts the good file", async () => {
    expect((await open(good())).tensors().length).toBe(2);
  });
  it("truncated file", async () => {
    const g = good();
    await expectBad(g.subarray(0, g.length - 2), /b: data_offsets \[8, 12\] run past the data section/);
    await expectBad(g.subarray(0, 5), /too short/);
  });
  it("header length past EOF / above the limit / hidden in the high word", async () => {
    await expectBad(handFile({}, new Uint8Array(0), 5000), /header length 5000 runs past the end/);
    await expectBad(
      handFile({}, new Uint8Array(0), MAX_HEADER_BYTES + 1),
      /exceeds the 100000000-byte limit/,
    );
    const g = good();
    g[4] = 1; // low byte of the high word: length >= 2^32
    await expectBad(g, /exceeds/);
  });
  it("overlapping offsets", async () => {
    await expectBad(
      handFile(
        {
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
        },
        f32bytes([1, 2]),
      ),
      /overlap/,
    );
  });
  it("holes and uncovered trailing bytes", async () => {
    await expectBad(
      handFile({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32bytes([1, 2])),
      /a: hole in the data section/,
    );
    await expectBad(
      handFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32bytes([1, 2])),
      /4 bytes not covered/,
    );
  });
  it("wrong dtype size (byte length vs dtype x shape)", async () => {
    await expectBad(
      handFile({ a: { dtype: "F16", shape: [2], data_offsets: [0, 8] } }, f32bytes([1, 2])),
      /a: byte length 8 does not match dtype F16 x shape \[2\] = 4 bytes/,
    );
  });
  it("unknown dtype, bad shape, bad offsets, bad JSON, bad metadata", async () => {
    await expectBad(
      handFile({ a: { dtype: "F12", shape: [1], data_offsets: [0, 4] } }, f32bytes([1])),
      /a: unknown dtype "F12"/,
    );
    await expectBad(
      handFile({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32bytes([1])),
      /a: shape/,
    );
    await expectBad(
      handFile({ a: { dtype: "F32", shape: [1.5], data_offsets: [0, 4] } }, f32bytes([1])),
      /a: shape/,
    );
    await expectBad(
      handFile({ a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, f32bytes([1])),
      /begin 4 > end 0/,
    );
    await expectBad(
      handFile({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, f32bytes([1])),
      /not \[begin, end\]/,
    );
    await expectBad(handFile([1, 2], new Uint8Array(0)), /not an object/);
    await expectBad(
      handFile({ __metadata__: { n: 1 } }, new Uint8Array(0)),
      /__metadata__ value of "n" is not a string/,
    );
    const broken = handFile({ a: 1 }, new Uint8Array(0));
    broken[8] = 0x5b; // '[' instead of '{'
    await expectBad(broken, /not valid JSON/);
  });
  it("missing tensor", async () => {
    const r = await open(good());
    await expect(r.readFloat32("c")).rejects.toThrow(/bad\.safetensors c: tensor not found/);
  });
});

describe("Checkpoint: single file and sharded folders", () => {
  const specs = [
    { name: "model.embed_tokens.weight", dtype: "F32" as const, shape: [4, 2] },
    { name: "model.layers.0.w", dtype: "BF16" as const, shape: [3] },
    { name: "model.layers.1.w", dtype: "F32" as const, shape: [5] },
    { name: "lm_head.weight", dtype: "F16" as const, shape: [4, 2] },
  ];
  const values = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => k + i * 0.25);

  it("plans shards greedily and never leaves a tensor out", () => {
    const plan = planShards(specs, 36);
    expect(plan.map((s) => s.map((t) => t.name))).toEqual([
      ["model.embed_tokens.weight"],
      ["model.layers.0.w", "model.layers.1.w"],
      ["lm_head.weight"],
    ]);
    expect(planShards(specs, 1e9).length).toBe(1);
  });

  for (const [label, maxShardBytes] of [
    ["sharded", 36],
    ["single", 1e9],
  ] as const) {
    it(`writes and reads back a ${label} checkpoint`, async () => {
      const store = new MemoryFileStore("out");
      const w = await CheckpointWriter.create(store, specs, { maxShardBytes });
      for (const [k, s] of specs.entries())
        await w.write(
          s.name,
          values(
            s.shape.reduce((a, b) => a * b, 1),
            k,
          ),
        );
      await w.finish();
      const files = await store.list();
      if (label === "sharded") {
        expect(files).toEqual([
          "model-00001-of-00003.safetensors",
          "model-00002-of-00003.safetensors",
          "model-00003-of-00003.safetensors",
          INDEX_FILE,
        ]);
        const index = parseShardIndex(await store.readText(INDEX_FILE), INDEX_FILE);
        expect(index.metadata).toEqual({ total_size: 32 + 6 + 20 + 16 });
        expect(index.weightMap["lm_head.weight"]).toBe("model-00003-of-00003.safetensors");
      } else {
        expect(files).toEqual([SINGLE_FILE]);
      }
      const ck = await Checkpoint.open(store);
      expect(ck.names).toEqual(specs.map((s) => s.name));
      expect(ck.tensor("model.layers.0.w").dtype).toBe("BF16");
      expect(ck.totalBytes()).toBe(74);
      expect([...(await ck.readFloat32("model.layers.1.w"))]).toEqual([...values(5, 2)]);
      expect([...(await ck.readFloat32("lm_head.weight"))]).toEqual([...values(8, 3)]);
      await expect(ck.readFloat32("nope")).rejects.toThrow(/out.* nope: tensor not found/);
    });
  }

  it("streams tensors in parts across shards, byte-identical to whole writes, and rejects bad parts", async () => {
    const whole = new MemoryFileStore("whole");
    const parts = new MemoryFileStore("parts");
    const a = await CheckpointWriter.create(whole, specs, { maxShardBytes: 36 });
    const b = await CheckpointWriter.create(parts, specs, { maxShardBytes: 36 });
    for (const [k, s] of specs.entries()) {
      const x = values(
        s.shape.reduce((p, q) => p * q, 1),
        k,
      );
      await a.write(s.name, x);
      // one element at a time, then the rest
      await b.writePart(s.name, x.subarray(0, 1));
      if (x.length > 1) await b.writePart(s.name, x.subarray(1));
    }
    await a.finish();
    await b.finish();
    expect(await parts.list()).toEqual(await whole.list());
    for (const f of await whole.list()) {
      const x = await (await whole.source(f)).read(0, await (await whole.source(f)).size());
      const y = await (await parts.source(f)).read(0, await (await parts.source(f)).size());
      expect([...y]).toEqual([...x]);
    }
    const c = await CheckpointWriter.create(new MemoryFileStore("c"), specs);
    const n0 = specs[0].shape.reduce((p, q) => p * q, 1);
    await expect(c.writePart(specs[0].name, values(n0 + 1, 0))).rejects.toThrow(/does not fit/);
    await c.writePart(specs[0].name, values(1, 0));
    await expect(c.writePart(specs[1].name, values(1, 0))).rejects.toThrow(/out of order/);
    await expect(c.finish()).rejects.toThrow(/before all declared tensors/);
  });

  it("rejects a broken index: missing shard, tensor missing from its shard, unsafe file names", async () => {
    const store = new MemoryFileStore("ck");
    const w = await CheckpointWriter.create(store, specs, { maxShardBytes: 36 });
    for (const [k, s] of specs.entries())
      await w.write(
        s.name,
        values(
          s.shape.reduce((a, b) => a * b, 1),
          k,
        ),
      );
    await w.finish();
    const index = JSON.parse(await store.readText(INDEX_FILE));
    index.weight_map["extra.weight"] = "model-00001-of-00003.safetensors";
    await store.writeText(INDEX_FILE, JSON.stringify(index));
    await expect(Checkpoint.open(store)).rejects.toThrow(
      /extra\.weight: tensor listed in the index is missing/,
    );
    index.weight_map["extra.weight"] = "model-00009-of-00009.safetensors";
    await store.writeText(INDEX_FILE, JSON.stringify(index));
    await expect(Checkpoint.open(store)).rejects.toThrow(
      /shard model-00009-of-00009\.safetensors .* does not exist/,
    );
    index.weight_map["extra.weight"] = "../../etc/passwd";
    await store.writeText(INDEX_FILE, JSON.stringify(index));
    await expect(Checkpoint.open(store)).rejects.toThrow(/not a plain file name/);
    await store.writeText(INDEX_FILE, "{");
    await expect(Checkpoint.open(store)).rejects.toThrow(CheckpointError);
  });

  it("opens a folder's only .safetensors file and refuses ambiguous folders", async () => {
    const store = new MemoryFileStore("dir");
    const one = await SafetensorsWriter.create(await store.sink("base.safetensors"), [specs[2]]);
    await one.write(specs[2].name, values(5, 0));
    await one.finish();
    expect((await Checkpoint.open(store)).names).toEqual([specs[2].name]);
    store.files.set("other.safetensors", store.files.get("base.safetensors")!);
    await expect(Checkpoint.open(store)).rejects.toThrow(/several \.safetensors files/);
    expect((await Checkpoint.open(store, "other.safetensors")).names).toEqual([specs[2].name]);
    await expect(Checkpoint.open(new MemoryFileStore("empty"))).rejects.toThrow(/no safetensors checkpoint/);
  });

  it("encodeHeader refuses duplicate names", () => {
    expect(() => encodeHeader([specs[0], specs[0]])).toThrow(/declared twice/);
  });
});
