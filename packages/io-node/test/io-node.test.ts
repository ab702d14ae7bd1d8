import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Checkpoint, CheckpointWriter, INDEX_FILE } from "@m2rl/core/checkpoint";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  atomicDirectory,
  FLUSH_EVERY_BYTES,
  NodeFileSink,
  NodeFileSource,
  NodeFileStore,
  openCheckpoint,
} from "../src/index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "m2rl-io-node-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("NodeFileSource", () => {
  it("reads exact positional ranges and refuses ranges past the end", async () => {
    const p = join(dir, "f.bin");
    await writeFile(
      p,
      Uint8Array.from({ length: 100 }, (_, i) => i),
    );
    const s = new NodeFileSource(p);
    expect(await s.size()).toBe(100);
    expect([...(await s.read(10, 5))]).toEqual([10, 11, 12, 13, 14]);
    expect([...(await s.read(0, 1))]).toEqual([0]);
    expect((await s.read(100, 0)).length).toBe(0);
    await expect(s.read(98, 5)).rejects.toThrow(/past end \(100 bytes\)/);
    await expect(s.read(-1, 1)).rejects.toThrow(/bad range/);
    const buf = new Uint8Array(3);
    await s.readInto(97, buf);
    expect([...buf]).toEqual([97, 98, 99]);
    await expect(s.readInto(98, buf)).rejects.toThrow(/past end/);
    await s.close();
  });
});

describe("NodeFileSink", () => {
  it("is invisible until commit, then renamed into place", async () => {
    const p = join(dir, "out.bin");
    const s = await NodeFileSink.create(p);
    await s.write(new Uint8Array([1, 2, 3]));
    await s.write(new Uint8Array([4]));
    expect(await readdir(dir)).toEqual([expect.stringMatching(/^\.out\.bin\.tmp-\d+-[0-9a-f]{8}$/)]);
    await s.commit();
    expect(await readdir(dir)).toEqual(["out.bin"]);
    expect([...(await readFile(p))]).toEqual([1, 2, 3, 4]);
  });
  it("keeps every byte when large writes overlap its background flushes", async () => {
    const p = join(dir, "big.bin");
    const s = await NodeFileSink.create(p);
    const chunk = 3 * 1024 * 1024; // 3 MiB chunks: flushes start mid-stream (every FLUSH_EVERY_BYTES)
    const count = Math.ceil((2.5 * FLUSH_EVERY_BYTES) / chunk);
    for (let c = 0; c < count; c++) await s.write(new Uint8Array(chunk).fill(c + 1));
    await s.commit();
    const got = await readFile(p);
    expect(got.length).toBe(count * chunk);
    for (let c = 0; c < count; c++) {
      expect(got[c * chunk]).toBe(c + 1);
      expect(got[(c + 1) * chunk - 1]).toBe(c + 1);
    }
    expect((await readdir(dir)).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("abort removes the temp file and leaves the old file untouched", async () => {
    const p = join(dir, "keep.txt");
    await writeFile(p, "old");
    const s = await NodeFileSink.create(p);
    await s.write(new TextEncoder().encode("new"));
    await s.abort();
    expect(await readdir(dir)).toEqual(["keep.txt"]);
    expect(await readFile(p, "utf8")).toBe("old");
    await expect(s.write(new Uint8Array(1))).rejects.toThrow(/write after aborted/);
  });
});

describe("NodeFileStore", () => {
  it("lists files, reads and writes text atomically, refuses escaping names", async () => {
    const store = new NodeFileStore(dir);
    await store.writeText("a.json", '{"x":1}');
    await writeFile(join(dir, "b.bin"), new Uint8Array([9]));
    expect(await store.list()).toEqual(["a.json", "b.bin"]);
    expect(await store.exists("a.json")).toBe(true);
    expect(await store.exists("zzz")).toBe(false);
    expect(await store.readText("a.json")).toBe('{"x":1}');
    expect([...(await (await store.source("b.bin")).read(0, 1))]).toEqual([9]);
    expect(() => store.path("../etc/passwd")).toThrow(/escapes the folder/);
    expect(() => store.path("/etc/passwd")).toThrow(/escapes the folder/);
  });

  it("round-trips a sharded checkpoint through the file system", async () => {
    const store = new NodeFileStore(dir);
    const specs = [
      { name: "a", dtype: "F32" as const, shape: [4] },
      { name: "b", dtype: "BF16" as const, shape: [2, 2] },
      { name: "c", dtype: "F16" as const, shape: [3] },
    ];
    const w = await CheckpointWriter.create(store, specs, { maxShardBytes: 16 });
    await w.write("a", new Float32Array([1, 2, 3, 4]));
    await w.write("b", new Float32Array([0.5, -0.5, 2, 8]));
    await w.write("c", new Float32Array([1, 0, -1]));
    await w.finish();
    expect(await store.list()).toEqual([
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      INDEX_FILE,
    ]);
    const ck = await openCheckpoint(dir);
    expect(ck.names).toEqual(["a", "b", "c"]);
    expect([...(await ck.readFloat32("b"))]).toEqual([0.5, -0.5, 2, 8]);
    await ck.close();
    const single = await openCheckpoint(join(dir, "model-00002-of-00002.safetensors"));
    expect(single).toBeInstanceOf(Checkpoint);
    expect(single.names).toEqual(["b", "c"]);
    await single.close();
    await expect(openCheckpoint(join(dir, "missing"))).rejects.toThrow(/missing: no such file or folder/);
  });
});

describe("atomicDirectory", () => {
  it("moves a complete folder into place", async () => {
    const out = join(dir, "merged");
    const r = await atomicDirectory(out, async (tmp) => {
      expect(tmp).toMatch(/merged\.tmp-\d+-[0-9a-f]{8}$/);
      await writeFile(join(tmp, "x.txt"), "done");
      return 42;
    });
    expect(r).toBe(42);
    expect(await readdir(dir)).toEqual(["merged"]);
    expect(await readFile(join(out, "x.txt"), "utf8")).toBe("done");
  });
  it("leaves nothing behind when the build fails", async () => {
    const out = join(dir, "merged");
    await expect(
      atomicDirectory(out, async (tmp) => {
        await writeFile(join(tmp, "half.txt"), "partial");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await readdir(dir)).toEqual([]);
  });
  it("refuses an existing folder unless overwrite is set, then replaces it", async () => {
    const out = join(dir, "merged");
    await atomicDirectory(out, async (tmp) => writeFile(join(tmp, "v"), "1"));
    await expect(atomicDirectory(out, async () => {})).rejects.toThrow(/already exists/);
    await atomicDirectory(out, async (tmp) => writeFile(join(tmp, "v"), "2"), { overwrite: true });
    expect(await readdir(dir)).toEqual(["merged"]);
    expect(await readFile(join(out, "v"), "utf8")).toBe("2");
  });
});
