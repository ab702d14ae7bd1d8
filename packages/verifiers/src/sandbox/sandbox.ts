import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import type { Writable } from "node:stream";
import { SandboxError } from "@m2rl/core";
import pLimit, { type LimitFunction } from "p-limit";
import { type BwrapOptions, bwrapCommand, systemBindArgs } from "./bwrap.ts";
import {
  DEFAULT_INTERPRETERS,
  type InterpreterPaths,
  interpreterBinds,
  type Language,
  languageSpec,
} from "./languages.ts";
import { DEFAULT_LIMITS, type SandboxLimits } from "./limits.ts";

/**
 * How a sandboxed run ended.
 * - `ok`: exited with status 0.   - `exit`: exited with another status (exception, syntax error, ...).
 * - `timeout`: wall or CPU limit.  - `memory`: the memory limit was hit (MemoryError / V8 heap / SIGSEGV on alloc).
 * - `output_limit`: wrote more than the stdout/stderr cap.  - `signal`: killed by another signal.
 */
export type SandboxOutcome = "ok" | "exit" | "timeout" | "memory" | "output_limit" | "signal";

export interface SandboxResult {
  outcome: SandboxOutcome;
  /** Exit status of the program (as reported through bwrap), or null when the parent killed the sandbox. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was cut at its cap. */
  truncated: boolean;
  wallMs: number;
}

export interface RunRequest {
  language: Language;
  /** Program source. */
  code: string;
  stdin?: string;
  /** Extra read-only files next to the program in /code (e.g. a test harness). Names must be plain file names. */
  files?: Record<string, string>;
  /** Per-run overrides of the sandbox's limits. */
  limits?: Partial<SandboxLimits>;
  /**
   * Cancels the run: a queued run never starts, a running one has its sandbox's process group killed at once.
   * Either way `run` rejects with a SandboxError whose message says the run was cancelled.
   */
  signal?: AbortSignal;
}

export interface SandboxOptions {
  /** Runs at the same time (default: number of CPUs). */
  concurrency?: number;
  /** Runs allowed to wait for a slot; one more is rejected with a SandboxError (back-pressure). Default 10,000. */
  maxQueue?: number;
  limits?: Partial<SandboxLimits>;
  interpreters?: Partial<InterpreterPaths>;
  bwrap?: Partial<BwrapOptions>;
}

const DEFAULT_BWRAP: BwrapOptions = {
  bwrapPath: "bwrap",
  prlimitPath: "/usr/bin/prlimit",
  setprivPath: "setpriv",
  unprivilegedUid: 65534,
  extraReadOnly: [],
  hostname: "sandbox",
};

/** Exit statuses bwrap reports for a child killed by a signal: 128 + signal number. */
const SIGXCPU_EXIT = 128 + 24;
const SIGSEGV_EXIT = 128 + 11;

const SAFE_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Checks that bwrap can create a sandbox here; returns the reason when it cannot. */
export function sandboxUnavailableReason(bwrapPath = "bwrap"): string | undefined {
  const r = spawnSync(
    bwrapPath,
    ["--unshare-all", "--die-with-parent", ...systemBindArgs(), "/usr/bin/true"],
    { timeout: 10_000, encoding: "utf8" },
  );
  if (r.error) return `cannot start ${bwrapPath}: ${r.error.message} (install bubblewrap)`;
  if (r.status !== 0) return `${bwrapPath} failed (status ${r.status}): ${r.stderr.trim()}`;
  return undefined;
}

/**
 * Runs untrusted Python / JavaScript programs, each in its own fresh bubblewrap sandbox, at most `concurrency` at
 * a time. The wall-clock limit is enforced from this process by SIGKILL to the sandbox's process group; since the
 * program runs in its own PID namespace whose init dies with bwrap (`--die-with-parent`), no process survives.
 */
export class Sandbox {
  readonly limits: Readonly<SandboxLimits>;
  private readonly limit: LimitFunction;
  private readonly maxQueue: number;
  private readonly interpreters: InterpreterPaths;
  private readonly bwrapOptions: BwrapOptions;
  private readonly isRoot: boolean;
  private readonly live = new Set<number>();
  private closed = false;

  constructor(options: SandboxOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
    const concurrency = options.concurrency ?? Math.max(1, availableParallelism());
    this.limit = pLimit({ concurrency, rejectOnClear: true });
    this.maxQueue = options.maxQueue ?? 10_000;
    this.interpreters = { ...DEFAULT_INTERPRETERS, ...options.interpreters };
    const binds = [
      ...interpreterBinds(this.interpreters.python),
      ...interpreterBinds(this.interpreters.node),
    ];
    const extra = [...(options.bwrap?.extraReadOnly ?? []), ...binds];
    this.bwrapOptions = { ...DEFAULT_BWRAP, ...options.bwrap, extraReadOnly: [...new Set(extra)] };
    this.isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  }

  /** Runs in flight and waiting. */
  get load(): { active: number; pending: number } {
    return { active: this.limit.activeCount, pending: this.limit.pendingCount };
  }

  /**
   * Runs one program. Rejects only for sandbox failures and cancellation (SandboxError), never for what the program
   * does.
   */
  run(req: RunRequest): Promise<SandboxResult> {
    if (this.closed) return Promise.reject(new SandboxError("sandbox is closed"));
    if (req.signal?.aborted) return Promise.reject(cancelled());
    if (this.limit.pendingCount >= this.maxQueue)
      return Promise.reject(new SandboxError(`sandbox queue is full (${this.maxQueue} runs waiting)`));
    return this.limit(() => {
      // Cancelled while it waited: give the slot back without starting anything.
      if (req.signal?.aborted) throw cancelled();
      return this.runNow(req);
    }).catch((e: unknown) => {
      if ((e as Error)?.name === "AbortError")
        throw new SandboxError("sandbox closed before the run started");
      throw e;
    });
  }

  /** Kills every running sandbox and refuses new runs. */
  async close(): Promise<void> {
    this.closed = true;
    this.limit.clearQueue();
    for (const pid of this.live) killGroup(pid);
  }

  private async runNow(req: RunRequest): Promise<SandboxResult> {
    const limits: SandboxLimits = { ...this.limits, ...req.limits };
    const spec = languageSpec(req.language, this.interpreters);
    const files: [string, string][] = [[spec.file, req.code]];
    for (const [name, content] of Object.entries(req.files ?? {})) {
      if (!SAFE_FILE.test(name) || name === spec.file)
        throw new SandboxError(`bad sandbox file name ${JSON.stringify(name)}`);
      files.push([name, content]);
    }
    const argv = bwrapCommand(
      spec,
      files.map(([n]) => n),
      limits,
      this.bwrapOptions,
      this.isRoot,
    );
    return this.spawnLimited(
      argv,
      files.map(([, c]) => c),
      req.stdin ?? "",
      limits,
      req.signal,
    );
  }

  private spawnLimited(
    argv: string[],
    files: string[],
    stdin: string,
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const [cmd, ...args] = argv as [string, ...string[]];
      // fds 3.. carry the program files: bwrap copies each into the sandbox (--ro-bind-data) before the program starts.
      const child = spawn(cmd, args, {
        stdio: ["pipe", "pipe", "pipe", ...files.map(() => "pipe" as const), "pipe"],
        detached: true,
      });
      files.forEach((content, i) => {
        const w = child.stdio[3 + i] as Writable | null;
        w?.on("error", () => {});
        w?.end(content);
      });
      let sandboxReady = false;
      const info = child.stdio[3 + files.length] as NodeJS.ReadableStream | null;
      info?.on("data", () => {
        sandboxReady = true;
      });
      info?.on("error", () => {});
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let truncated = false;
      let killedFor: "timeout" | "output_limit" | "cancelled" | undefined;
      let settled = false;
      const pid = child.pid;
      if (pid !== undefined) this.live.add(pid);

      const kill = (why: "timeout" | "output_limit" | "cancelled") => {
        if (killedFor) return;
        killedFor = why;
        if (pid !== undefined) killGroup(pid);
      };
      const timer = setTimeout(() => kill("timeout"), limits.wallMs);
      const onAbort = () => kill("cancelled");
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      // If the streams never close after a kill (they always should), give up waiting after a grace period.
      let grace: NodeJS.Timeout | undefined;

      const take = (chunks: Buffer[], size: number, cap: number, chunk: Buffer): number => {
        if (size >= cap) {
          truncated = true;
          kill("output_limit");
          return size;
        }
        const room = cap - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          truncated = true;
          kill("output_limit");
          return cap;
        }
        chunks.push(chunk);
        return size + chunk.length;
      };
      child.stdout.on("data", (c: Buffer) => {
        outBytes = take(out, outBytes, limits.stdoutBytes, c);
      });
      child.stderr.on("data", (c: Buffer) => {
        errBytes = take(err, errBytes, limits.stderrBytes, c);
      });
      child.stdin.on("error", () => {}); // EPIPE when the program exits without reading its input
      child.stdin.end(stdin);

      const finish = (code: number | null, exitSignal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (grace) clearTimeout(grace);
        if (pid !== undefined) {
          killGroup(pid); // nothing should be left; this is a no-op then
          this.live.delete(pid);
        }
        const stdout = Buffer.concat(out).toString("utf8");
        const stderr = Buffer.concat(err).toString("utf8");
        const wallMs = performance.now() - started;
        const exitCode = exitSignal ? null : code;
        if (killedFor === "cancelled") {
          reject(cancelled());
          return;
        }
        if (!sandboxReady && !killedFor && !this.closed) {
          reject(
            new SandboxError(
              `the sandbox failed to start (exit ${exitCode ?? exitSignal}): ${stderr.trim().slice(-500) || "no message"}`,
            ),
          );
          return;
        }
        resolve({
          outcome: classify(exitCode, stderr, killedFor as "timeout" | "output_limit" | undefined),
          exitCode,
          stdout,
          stderr,
          truncated,
          wallMs,
        });
      };
      child.on("error", (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (pid !== undefined) this.live.delete(pid);
        reject(new SandboxError(`cannot start the sandbox (${cmd}): ${e.message}`));
      });
      child.on("exit", () => {
        grace = setTimeout(() => finish(child.exitCode, child.signalCode), 2000);
      });
      child.on("close", finish);
    });
  }
}

/** The rejection of a run whose signal aborted. */
function cancelled(): SandboxError {
  return new SandboxError("run cancelled by the caller (its abort signal fired)");
}

function classify(
  exitCode: number | null,
  stderr: string,
  killedFor?: "timeout" | "output_limit",
): SandboxOutcome {
  if (killedFor) return killedFor;
  if (exitCode === 0) return "ok";
  if (exitCode === SIGXCPU_EXIT) return "timeout";
  if (
    /\bMemoryError\b/.test(stderr) ||
    /heap out of memory|Allocation failed|Cannot allocate memory|std::bad_alloc/.test(stderr) ||
    exitCode === SIGSEGV_EXIT
  )
    return "memory";
  if (exitCode === null || (exitCode > 128 && exitCode < 128 + 65)) return "signal";
  return "exit";
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
