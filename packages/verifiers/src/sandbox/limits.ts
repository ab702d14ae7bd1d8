/** Resource limits of one sandboxed run. Every field is a hard limit enforced outside the program's control. */
export interface SandboxLimits {
  /** Wall-clock limit in milliseconds, enforced by the parent killing the sandbox (process group + PID namespace). */
  wallMs: number;
  /** CPU-time limit in seconds (RLIMIT_CPU: SIGXCPU, then SIGKILL). */
  cpuSeconds: number;
  /** Memory limit in bytes: RLIMIT_AS for Python, RLIMIT_DATA + V8 heap cap for JavaScript. */
  memoryBytes: number;
  /** Largest file the program may write, in bytes (RLIMIT_FSIZE). */
  fileBytes: number;
  /** Size of the writable scratch tmpfs, in bytes. */
  scratchBytes: number;
  /** Maximum number of processes/threads inside the sandbox (RLIMIT_NPROC, counted per user namespace). */
  processes: number;
  /** Maximum open file descriptors (RLIMIT_NOFILE). */
  openFiles: number;
  /** Bytes of stdout kept; the run is killed as soon as the program writes more. */
  stdoutBytes: number;
  /** Bytes of stderr kept; the run is killed as soon as the program writes more. */
  stderrBytes: number;
}

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  wallMs: 10_000,
  cpuSeconds: 5,
  memoryBytes: 512 * 1024 * 1024,
  fileBytes: 8 * 1024 * 1024,
  scratchBytes: 32 * 1024 * 1024,
  processes: 32,
  openFiles: 64,
  stdoutBytes: 1024 * 1024,
  stderrBytes: 64 * 1024,
});

/** JSON Schema of a partial `SandboxLimits` (options of the code domain and of the server). */
export const LIMITS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    wallMs: { type: "integer", minimum: 10, maximum: 600_000 },
    cpuSeconds: { type: "integer", minimum: 1, maximum: 600 },
    memoryBytes: { type: "integer", minimum: 16 * 1024 * 1024 },
    fileBytes: { type: "integer", minimum: 0 },
    scratchBytes: { type: "integer", minimum: 4096 },
    processes: { type: "integer", minimum: 1, maximum: 4096 },
    openFiles: { type: "integer", minimum: 8, maximum: 65536 },
    stdoutBytes: { type: "integer", minimum: 1 },
    stderrBytes: { type: "integer", minimum: 1 },
  },
} as const;
