/**
 * Resource limits of one sandboxed run, declared once: the `SandboxLimits` type, `DEFAULT_LIMITS` and the JSON
 * Schema of a partial block (the code domain's `limits` option) derive from `SANDBOX_LIMITS`. Every field is a hard
 * limit enforced outside the program's control.
 */
import { defaultsOf, group, int, type OptionsOf, schemaOf } from "@m2rl/core/plugin";

const MiB = 1024 * 1024;

export const SANDBOX_LIMITS = group("Resource limits of one sandboxed run.", {
  wallMs: int(
    "Wall-clock limit in milliseconds, enforced by the parent killing the sandbox (process group + PID namespace).",
    10_000,
    10,
    600_000,
  ),
  cpuSeconds: int("CPU-time limit in seconds (RLIMIT_CPU: SIGXCPU, then SIGKILL).", 5, 1, 600),
  memoryBytes: int(
    "Memory limit in bytes: RLIMIT_AS for Python, RLIMIT_DATA + V8 heap cap for JavaScript.",
    512 * MiB,
    16 * MiB,
  ),
  fileBytes: int("Largest file the program may write, in bytes (RLIMIT_FSIZE).", 8 * MiB, 0),
  scratchBytes: int("Size of the writable scratch tmpfs, in bytes.", 32 * MiB, 4096),
  processes: int(
    "Maximum number of processes / threads inside the sandbox (RLIMIT_NPROC, counted per user namespace).",
    32,
    1,
    4096,
  ),
  openFiles: int("Maximum open file descriptors (RLIMIT_NOFILE).", 64, 8, 65536),
  stdoutBytes: int("Bytes of stdout kept; the run is killed as soon as the program writes more.", MiB, 1),
  stderrBytes: int(
    "Bytes of stderr kept; the run is killed as soon as the program writes more.",
    64 * 1024,
    1,
  ),
});

export type SandboxLimits = OptionsOf<typeof SANDBOX_LIMITS>;

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze(defaultsOf(SANDBOX_LIMITS));

/** JSON Schema of a partial `SandboxLimits` (every key optional, unknown keys refused). */
export const LIMITS_SCHEMA = schemaOf(SANDBOX_LIMITS);
