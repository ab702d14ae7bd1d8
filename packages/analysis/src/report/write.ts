/** Writes a rendered report into a folder: report.md, report.html, report.json, charts/*.svg (Node). */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RenderedReport } from "./render.ts";

async function atomicWrite(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeReport(dir: string, report: RenderedReport): Promise<string[]> {
  const files: string[] = [];
  for (const c of report.charts) {
    await atomicWrite(join(dir, c.file), c.svg);
    files.push(join(dir, c.file));
  }
  for (const [name, text] of [
    ["report.md", report.markdown],
    ["report.html", report.html],
    ["report.json", report.json],
  ] as const) {
    await atomicWrite(join(dir, name), text);
    files.push(join(dir, name));
  }
  return files;
}
