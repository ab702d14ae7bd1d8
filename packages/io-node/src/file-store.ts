import { readdir, readFile, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import type { ByteSink, ByteSource, FileStore } from "@m2rl/core/io";
import { NodeFileSink, type SinkOptions } from "./file-sink.ts";
import { NodeFileSource } from "./file-source.ts";

/** A FileStore over one folder. File names are relative to it; `..` and absolute paths are refused. */
export class NodeFileStore implements FileStore {
  readonly name: string;

  constructor(
    readonly dir: string,
    private readonly sinkOptions: SinkOptions = {},
  ) {
    this.name = dir;
  }

  /** Absolute-or-cwd path of `file`, refusing names that escape the folder. */
  path(file: string): string {
    const n = normalize(file);
    if (
      file.length === 0 ||
      isAbsolute(file) ||
      n === ".." ||
      n.startsWith(`..${sep}`) ||
      file.includes("\0")
    ) {
      throw new Error(`${this.dir}: file name ${JSON.stringify(file)} escapes the folder`);
    }
    return join(this.dir, n);
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  }

  async exists(file: string): Promise<boolean> {
    try {
      return (await stat(this.path(file))).isFile();
    } catch {
      return false;
    }
  }

  async source(file: string): Promise<ByteSource> {
    return new NodeFileSource(this.path(file));
  }

  async readText(file: string): Promise<string> {
    return readFile(this.path(file), "utf8");
  }

  async sink(file: string): Promise<ByteSink> {
    return NodeFileSink.create(this.path(file), undefined, this.sinkOptions);
  }

  async writeText(file: string, text: string): Promise<void> {
    const s = await this.sink(file);
    try {
      await s.write(new TextEncoder().encode(text));
    } catch (err) {
      await s.abort();
      throw err;
    }
    await s.commit();
  }
}
