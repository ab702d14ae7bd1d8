/** A small worker_threads pool: tasks queue up, each idle worker takes the next one. */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { CheckpointError, ConfigError, M2rlError } from "@m2rl/core/errors";

interface Pending {
  msg: unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

function reviveError(e: { name: string; message: string; stack?: string }): Error {
  const cls =
    e.name === "CheckpointError" ? CheckpointError : e.name === "ConfigError" ? ConfigError : undefined;
  const err = cls ? new cls(e.message) : new M2rlError(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * How to start the worker script next to this module: the built .js directly; from sources (.ts, under tsx or
 * vitest) through a tiny eval bootstrap that registers tsx's ESM loader in the worker and then imports worker.ts.
 */
function workerSpec(): { script: string | URL; eval: boolean } {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return { script: new URL("./worker.js", here), eval: false };
  const api = createRequire(here)
    .resolve("tsx/esm/api")
    .replace(/index\.cjs$/, "index.mjs");
  const entry = new URL("./worker.ts", here).href;
  const code = `(async () => { const { register } = await import(${JSON.stringify(pathToFileURL(api).href)}); register(); await import(${JSON.stringify(entry)}); })().catch((e) => { console.error(e); process.exit(1); });`;
  return { script: code, eval: true };
}

const DEPTH = 2;

export class WorkerPool {
  /** Up to DEPTH tasks per worker: it reads the next tensor while merging the current one; replies come in order. */
  private readonly workers: { w: Worker; jobs: Pending[] }[] = [];
  private readonly queue: Pending[] = [];
  private failed: Error | undefined;

  constructor(size: number, workerData: unknown) {
    const spec = workerSpec();
    for (let i = 0; i < size; i++) {
      const w = new Worker(spec.script, {
        workerData,
        eval: spec.eval,
        execArgv: spec.eval ? ["--conditions=m2rl-source"] : undefined,
      });
      const slot: { w: Worker; jobs: Pending[] } = { w, jobs: [] };
      w.on("message", (m: { ok: boolean; result?: unknown; error?: { name: string; message: string } }) => {
        const job = slot.jobs.shift();
        if (job) {
          if (m.ok) job.resolve(m.result);
          else job.reject(reviveError(m.error!));
        }
        this.pump();
      });
      w.on("error", (err) => this.fail(err));
      w.on("exit", (code) => {
        if (code !== 0 && !this.failed) this.fail(new Error(`merge worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const s of this.workers) {
      for (const j of s.jobs.splice(0)) j.reject(err);
    }
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  private pump(): void {
    for (const s of this.workers) {
      while (s.jobs.length < DEPTH && this.queue.length > 0) {
        const job = this.queue.shift()!;
        s.jobs.push(job);
        s.w.postMessage(job.msg);
      }
    }
  }

  run<T>(msg: unknown): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ msg, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.failed ??= new Error("pool closed");
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}
