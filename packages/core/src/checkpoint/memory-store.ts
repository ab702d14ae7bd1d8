/** A FileStore held in memory (tests, small tools, browsers). Sinks become visible only on commit. */
import type { ByteSink, ByteSource, FileStore } from "../io/index.ts";
import { MemorySink, MemorySource } from "../io/index.ts";

export class MemoryFileStore implements FileStore {
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly name = "<memory>") {}

  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }
  async exists(file: string): Promise<boolean> {
    return this.files.has(file);
  }
  async source(file: string): Promise<ByteSource> {
    const b = this.files.get(file);
    if (!b) throw new Error(`${this.name}/${file}: no such file`);
    return new MemorySource(b, `${this.name}/${file}`);
  }
  async readText(file: string): Promise<string> {
    const b = this.files.get(file);
    if (!b) throw new Error(`${this.name}/${file}: no such file`);
    return new TextDecoder().decode(b);
  }
  async sink(file: string): Promise<ByteSink> {
    const inner = new MemorySink(`${this.name}/${file}`);
    return {
      name: inner.name,
      write: (c) => inner.write(c),
      abort: () => inner.abort(),
      commit: async () => {
        await inner.commit();
        this.files.set(file, inner.committed!);
      },
    };
  }
  async writeText(file: string, text: string): Promise<void> {
    this.files.set(file, new TextEncoder().encode(text));
  }
}
