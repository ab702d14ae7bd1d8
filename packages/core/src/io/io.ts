/**
 * IO at the edges: core never touches a file system. It reads and writes through these small interfaces;
 * Node adapters live in @m2rl/io-node (used by cli, mergers, analysis), Deno or browser adapters can be written
 * the same way.
 */

/** Random-access, read-only bytes (a file, a Blob, a buffer). */
export interface ByteSource {
  /** Human-readable name for errors (usually the file path). */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Exactly `length` bytes starting at `offset`; rejects when the range is outside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: fills `target` with the `target.byteLength` bytes at `offset` (no allocation, so a reader can reuse
   * its buffers); rejects like `read`.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  close?(): Promise<void>;
}

/** Sequential byte sink. `commit` makes the result visible atomically; `abort` leaves nothing behind. */
export interface ByteSink {
  readonly name: string;
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A folder of named files (a checkpoint or model directory). */
export interface FileStore {
  readonly name: string;
  list(): Promise<string[]>;
  exists(file: string): Promise<boolean>;
  source(file: string): Promise<ByteSource>;
  readText(file: string): Promise<string>;
  /** A sink whose `commit` atomically replaces `file` (temp + rename). */
  sink(file: string): Promise<ByteSink>;
  writeText(file: string, text: string): Promise<void>;
}

/** A ByteSource over bytes already in memory. */
export class MemorySource implements ByteSource {
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = "<memory>",
  ) {}
  async size(): Promise<number> {
    return this.bytes.byteLength;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`${this.name}: bad range offset=${offset} length=${length}`);
    }
    if (offset + length > this.bytes.byteLength) {
      throw new RangeError(
        `${this.name}: range ${offset}+${length} past end (${this.bytes.byteLength} bytes)`,
      );
    }
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A ByteSink collecting into memory (tests, small files). */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = [];
  committed: Uint8Array | undefined;
  constructor(readonly name = "<memory>") {}
  async write(chunk: Uint8Array): Promise<void> {
    this.chunks.push(chunk.slice());
  }
  async commit(): Promise<void> {
    let n = 0;
    for (const c of this.chunks) n += c.byteLength;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    this.committed = out;
    this.chunks = [];
  }
  async abort(): Promise<void> {
    this.chunks = [];
  }
}
