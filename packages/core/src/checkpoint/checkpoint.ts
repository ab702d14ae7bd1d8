/**
 * A checkpoint: one .safetensors file, or a folder holding a single file (`model.safetensors`) or shards listed
 * in `model.safetensors.index.json` (`{metadata: {total_size}, weight_map: {tensor: file}}`).
 */
import { CheckpointError } from "../errors/index.ts";
import type { ByteSource, FileStore } from "../io/index.ts";
import { DTYPE_SIZE, numel } from "./dtype.ts";
import type { TensorEntry, TensorSpec } from "./header.ts";
import { type ElementRange, SafetensorsReader } from "./reader.ts";
import { SafetensorsWriter } from "./writer.ts";

export const INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_FILE = "model.safetensors";

/** Parsed `model.safetensors.index.json`. */
export interface ShardIndex {
  metadata: Record<string, unknown>;
  weightMap: Record<string, string>;
}

/** A tensor of a checkpoint and the file that holds it. */
export interface CheckpointTensor extends TensorEntry {
  file: string;
}

function safeShardName(f: string): boolean {
  return (
    f.length > 0 && !f.includes("/") && !f.includes("\\") && f !== "." && f !== ".." && !f.includes("\0")
  );
}

/** Parses and validates an index file's text. */
export function parseShardIndex(text: string, file: string): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`index is not valid JSON (${(e as Error).message})`, { file });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError("index is not a JSON object", { file });
  }
  const { metadata = {}, weight_map: wm } = json as Record<string, unknown>;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new CheckpointError("metadata is not an object", { file, path: "metadata" });
  }
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) {
    throw new CheckpointError("weight_map is missing or not an object", { file, path: "weight_map" });
  }
  const weightMap: Record<string, string> = {};
  for (const [name, f] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof f !== "string" || !safeShardName(f)) {
      throw new CheckpointError(
        `shard file ${JSON.stringify(f)} is not a plain file name in the same folder`,
        {
          file,
          path: `weight_map.${name}`,
        },
      );
    }
    weightMap[name] = f;
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

/** Text of an index file. */
export function formatShardIndex(index: ShardIndex): string {
  return `${JSON.stringify({ metadata: index.metadata, weight_map: index.weightMap }, null, 2)}\n`;
}

export class Checkpoint {
  private constructor(
    /** Where the checkpoint was read from (folder or file), for messages. */
    readonly name: string,
    private readonly readers: Map<string, SafetensorsReader>,
    private readonly tensorsByName: Map<string, CheckpointTensor>,
    /** Tensor names in a stable order (index order for shards, header order for a file). */
    readonly names: readonly string[],
    readonly metadata: Record<string, string>,
  ) {}

  /** One safetensors file. */
  static async fromSource(source: ByteSource, file = source.name): Promise<Checkpoint> {
    const r = await SafetensorsReader.open(source);
    const map = new Map<string, CheckpointTensor>();
    for (const t of r.tensors()) map.set(t.name, { ...t, file });
    return new Checkpoint(source.name, new Map([[file, r]]), map, [...map.keys()], r.metadata);
  }

  /**
   * A folder: sharded when it has `model.safetensors.index.json`, else `model.safetensors`, else its only
   * `*.safetensors` file. With `file`, that one file of the store.
   */
  static async open(store: FileStore, file?: string): Promise<Checkpoint> {
    if (file) return Checkpoint.fromSource(await openSource(store, file), file);
    if (await store.exists(INDEX_FILE)) return Checkpoint.openSharded(store);
    if (await store.exists(SINGLE_FILE))
      return Checkpoint.fromSource(await openSource(store, SINGLE_FILE), SINGLE_FILE);
    const files = (await store.list()).filter((f) => f.endsWith(".safetensors")).sort();
    if (files.length === 1) return Checkpoint.fromSource(await openSource(store, files[0]), files[0]);
    throw new CheckpointError(
      files.length === 0
        ? "no safetensors checkpoint (no model.safetensors, no index, no *.safetensors file)"
        : `several .safetensors files (${files.join(", ")}) but no ${INDEX_FILE}`,
      { file: store.name },
    );
  }

  private static async openSharded(store: FileStore): Promise<Checkpoint> {
    const indexName = `${store.name}/${INDEX_FILE}`;
    const index = parseShardIndex(await store.readText(INDEX_FILE), indexName);
    const readers = new Map<string, SafetensorsReader>();
    try {
      for (const f of new Set(Object.values(index.weightMap))) {
        if (!(await store.exists(f))) {
          throw new CheckpointError(`shard ${f} listed in the index does not exist`, { file: indexName });
        }
        readers.set(f, await SafetensorsReader.open(await store.source(f)));
      }
      const map = new Map<string, CheckpointTensor>();
      for (const [name, f] of Object.entries(index.weightMap)) {
        const r = readers.get(f)!;
        if (!r.has(name)) {
          throw new CheckpointError(`tensor listed in the index is missing from shard ${f}`, {
            file: indexName,
            path: name,
          });
        }
        map.set(name, { ...r.entry(name), file: f });
      }
      const metadata: Record<string, string> = {};
      for (const r of readers.values()) Object.assign(metadata, r.metadata);
      return new Checkpoint(store.name, readers, map, [...map.keys()], metadata);
    } catch (err) {
      for (const r of readers.values()) await r.close();
      throw err;
    }
  }

  has(name: string): boolean {
    return this.tensorsByName.has(name);
  }

  tensor(name: string): CheckpointTensor {
    const t = this.tensorsByName.get(name);
    if (!t) throw new CheckpointError("tensor not found in checkpoint", { file: this.name, path: name });
    return t;
  }

  tensors(): CheckpointTensor[] {
    return this.names.map((n) => this.tensorsByName.get(n)!);
  }

  /** Sum of all tensors' byte lengths. */
  totalBytes(): number {
    let n = 0;
    for (const t of this.tensorsByName.values()) n += t.byteLength;
    return n;
  }

  async readRaw(name: string, range?: ElementRange): Promise<Uint8Array> {
    const t = this.tensor(name);
    return this.readers.get(t.file)!.readRaw(name, range);
  }

  async readFloat32(name: string, range?: ElementRange, out?: Float32Array): Promise<Float32Array> {
    const t = this.tensor(name);
    return this.readers.get(t.file)!.readFloat32(name, range, out);
  }

  async close(): Promise<void> {
    for (const r of this.readers.values()) await r.close();
  }
}

async function openSource(store: FileStore, file: string): Promise<ByteSource> {
  if (!(await store.exists(file)))
    throw new CheckpointError("file does not exist", { file: `${store.name}/${file}` });
  return store.source(file);
}

export interface CheckpointWriterOptions {
  /** Largest shard in bytes (data only). Default 5e9, as mergekit and transformers use. */
  maxShardBytes?: number;
  /** Stored in every shard's `__metadata__` (default {format: "pt"}, what transformers expects). */
  metadata?: Record<string, string>;
}

/** Plans shards greedily in declaration order: a new shard starts when the next tensor would overflow it. */
export function planShards(tensors: readonly TensorSpec[], maxShardBytes: number): TensorSpec[][] {
  const shards: TensorSpec[][] = [];
  let cur: TensorSpec[] = [];
  let bytes = 0;
  for (const t of tensors) {
    const n = numel(t.shape) * DTYPE_SIZE[t.dtype];
    if (cur.length > 0 && bytes + n > maxShardBytes) {
      shards.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(t);
    bytes += n;
  }
  if (cur.length > 0 || shards.length === 0) shards.push(cur);
  return shards;
}

/** Shard file name as transformers writes it: model-00001-of-00003.safetensors. */
export function shardFileName(i: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, "0");
  return `model-${pad(i + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Writes a checkpoint into a FileStore: `model.safetensors` when it fits one shard, else shards plus
 * `model.safetensors.index.json`. Tensors are declared up front and written in that order, one at a time.
 */
export class CheckpointWriter {
  private shardIdx = -1;
  private writer: SafetensorsWriter | undefined;
  private inShard = 0;
  private readonly files: string[];
  private readonly written: string[] = [];

  private constructor(
    private readonly store: FileStore,
    private readonly shards: TensorSpec[][],
    private readonly metadata: Record<string, string>,
  ) {
    this.files = shards.length === 1 ? [SINGLE_FILE] : shards.map((_, i) => shardFileName(i, shards.length));
  }

  static async create(
    store: FileStore,
    tensors: readonly TensorSpec[],
    options: CheckpointWriterOptions = {},
  ): Promise<CheckpointWriter> {
    const shards = planShards(tensors, options.maxShardBytes ?? 5e9);
    return new CheckpointWriter(store, shards, options.metadata ?? { format: "pt" });
  }

  /** The output files, in order (one, or the shards). */
  fileNames(): readonly string[] {
    return this.files;
  }

  async write(name: string, data: Float32Array | Uint8Array): Promise<void> {
    await this.shardFor(name);
    await this.writer!.write(name, data);
    this.inShard++;
  }

  /**
   * Writes the next part of tensor `name` (see SafetensorsWriter.writePart): a tensor may arrive in several parts,
   * in order; it is complete when they add up to its size.
   */
  async writePart(name: string, data: Float32Array | Uint8Array): Promise<void> {
    if (!this.writer?.inTensor()) await this.shardFor(name);
    await this.writer!.writePart(name, data);
    if (!this.writer!.inTensor()) this.inShard++;
  }

  /** Moves to the next shard when the current one is full (commits it). */
  private async shardFor(name: string): Promise<void> {
    while (!this.writer || this.inShard >= this.shards[this.shardIdx].length) {
      if (this.writer) {
        await this.writer.finish();
        this.written.push(this.files[this.shardIdx]);
      }
      this.shardIdx++;
      if (this.shardIdx >= this.shards.length) {
        throw new CheckpointError("more tensors written than declared", { path: name });
      }
      this.inShard = 0;
      this.writer = await SafetensorsWriter.create(
        await this.store.sink(this.files[this.shardIdx]),
        this.shards[this.shardIdx],
        this.metadata,
      );
    }
  }

  /** Commits the last shard and writes the index (when sharded). */
  async finish(): Promise<void> {
    // Empty shard list (no tensors) still produces a valid, empty file.
    if (!this.writer) {
      this.shardIdx = 0;
      this.writer = await SafetensorsWriter.create(
        await this.store.sink(this.files[0]),
        this.shards[0],
        this.metadata,
      );
    }
    if (this.shardIdx !== this.shards.length - 1) {
      const missing = this.shards[this.shardIdx + 1][0]?.name;
      await this.abort();
      throw new CheckpointError("checkpoint closed before all declared tensors were written", {
        path: missing,
      });
    }
    await this.writer.finish();
    this.written.push(this.files[this.shardIdx]);
    if (this.shards.length > 1) {
      const weightMap: Record<string, string> = {};
      let total = 0;
      this.shards.forEach((s, i) => {
        for (const t of s) {
          weightMap[t.name] = this.files[i];
          total += numel(t.shape) * DTYPE_SIZE[t.dtype];
        }
      });
      await this.store.writeText(
        INDEX_FILE,
        formatShardIndex({ metadata: { total_size: total }, weightMap }),
      );
    }
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}
