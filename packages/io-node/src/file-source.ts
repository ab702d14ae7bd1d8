import { type FileHandle, open } from "node:fs/promises";
import type { ByteSource } from "@m2rl/core/io";

/** A ByteSource over a file: positional reads through one FileHandle (opened on first use). */
export class NodeFileSource implements ByteSource {
  private handle: Promise<FileHandle> | undefined;
  private cachedSize: number | undefined;

  constructor(
    readonly path: string,
    readonly name = path,
  ) {}

  private fh(): Promise<FileHandle> {
    this.handle ??= open(this.path, "r");
    return this.handle;
  }

  async size(): Promise<number> {
    if (this.cachedSize === undefined) this.cachedSize = (await (await this.fh()).stat()).size;
    return this.cachedSize;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`${this.name}: bad range offset=${offset} length=${length}`);
    }
    const size = await this.size();
    if (offset + length > size) {
      throw new RangeError(`${this.name}: range ${offset}+${length} past end (${size} bytes)`);
    }
    const out = new Uint8Array(length);
    await this.fill(offset, out);
    return out;
  }

  /** Reads `target.byteLength` bytes at `offset` into `target` (no allocation). */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new RangeError(`${this.name}: bad offset ${offset}`);
    const size = await this.size();
    if (offset + target.byteLength > size) {
      throw new RangeError(`${this.name}: range ${offset}+${target.byteLength} past end (${size} bytes)`);
    }
    await this.fill(offset, target);
  }

  private async fill(offset: number, out: Uint8Array): Promise<void> {
    const length = out.byteLength;
    const fh = await this.fh();
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new RangeError(`${this.name}: unexpected end of file at ${offset + done}`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await (await h).close();
  }
}
