import { lstatSync, readlinkSync } from "node:fs";
import type { LanguageSpec } from "./languages.ts";
import type { SandboxLimits } from "./limits.ts";

/** Where things are inside the sandbox. */
export const SANDBOX_CODE_DIR = "/code";
export const SANDBOX_SCRATCH_DIR = "/scratch";

export interface BwrapOptions {
  bwrapPath: string;
  prlimitPath: string;
  setprivPath: string;
  /** When M2RL runs as root, the sandbox is first dropped to this unprivileged uid/gid (root is exempt from
   * RLIMIT_NPROC, and an unprivileged user namespace must not map to host root). */
  unprivilegedUid: number;
  /** Extra host folders bound read-only at the same path (e.g. a Python prefix outside /usr). */
  extraReadOnly: readonly string[];
  /** Host name inside the sandbox; it also appears on bwrap's command line, which lets tests find its processes. */
  hostname: string;
}

/** Top-level system folders that may be real folders or merged-/usr symlinks, depending on the distribution. */
const SYSTEM_DIRS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** Single read-only files that speed up or are needed by the dynamic linker / interpreters. */
const SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/alternatives"];

function exists(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

let cachedSystemArgs: string[] | undefined;

/** Read-only view of the system: /usr, the merged-/usr symlinks (or real folders) and a few linker files. */
export function systemBindArgs(): string[] {
  if (cachedSystemArgs) return cachedSystemArgs;
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const dir of SYSTEM_DIRS) {
    const st = exists(dir);
    if (!st) continue;
    if (st.isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push("--ro-bind", dir, dir);
  }
  for (const f of SYSTEM_FILES) if (exists(f)) args.push("--ro-bind", f, f);
  cachedSystemArgs = args;
  return args;
}

/**
 * The full argv (command first) that runs `spec` on /code/<file> inside a fresh bubblewrap sandbox:
 * all namespaces unshared (no network, own PID namespace: when its init dies, every process in it dies),
 * read-only system, the program files copied in from pipes (never from a host folder) and read-only, a
 * size-capped tmpfs as the only writable place (it lives in the sandbox's mount namespace and vanishes with it), a cleared
 * environment, and rlimits applied by prlimit inside the sandbox (so RLIMIT_NPROC counts only this sandbox's
 * user namespace, not the caller's processes).
 */
export function bwrapCommand(
  spec: LanguageSpec,
  /** Names of the files in /code, in order: file i is read by bwrap from file descriptor 3 + i; descriptor
   * 3 + codeFiles.length is the ready descriptor. */
  codeFiles: readonly string[],
  limits: SandboxLimits,
  opts: BwrapOptions,
  isRoot: boolean,
): string[] {
  const prefix = isRoot
    ? [
        opts.setprivPath,
        `--reuid=${opts.unprivilegedUid}`,
        `--regid=${opts.unprivilegedUid}`,
        "--clear-groups",
        "--",
      ]
    : [];
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin",
    HOME: SANDBOX_SCRATCH_DIR,
    TMPDIR: SANDBOX_SCRATCH_DIR,
    LANG: "C.UTF-8",
    ...spec.env,
  };
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]);
  const extra = opts.extraReadOnly.flatMap((p) => ["--ro-bind", p, p]);
  const mem = Math.floor(limits.memoryBytes);
  const readyFd = 3 + codeFiles.length;
  return [
    ...prefix,
    opts.bwrapPath,
    "--unshare-all",
    "--unshare-user",
    "--uid",
    "1000",
    "--gid",
    "1000",
    "--hostname",
    opts.hostname,
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    ...systemBindArgs(),
    ...extra,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--dir",
    SANDBOX_CODE_DIR,
    ...codeFiles.flatMap((name, i) => [
      "--perms",
      "0444",
      "--ro-bind-data",
      String(3 + i),
      `${SANDBOX_CODE_DIR}/${name}`,
    ]),
    "--size",
    String(Math.floor(limits.scratchBytes)),
    "--tmpfs",
    SANDBOX_SCRATCH_DIR,
    "--symlink",
    SANDBOX_SCRATCH_DIR,
    "/tmp",
    // bwrap's root is a tmpfs with no size cap: make it (and /code in it) read-only once everything is in place.
    "--remount-ro",
    "/",
    "--chdir",
    SANDBOX_SCRATCH_DIR,
    "--clearenv",
    ...envArgs,
    "--",
    // Once inside the finished sandbox: say so on the ready descriptor (a run without that byte failed in bwrap's
    // setup, which is a sandbox error, never the program's fault), close every descriptor above 2 (the ready one,
    // and any the host process inherited without close-on-exec), then exec the limits and the program.
    "/bin/bash",
    "-c",
    `printf R >&${readyFd} || exit 125; for f in /proc/$$/fd/*; do n=\${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$@"`,
    "sandbox-init",
    opts.prlimitPath,
    `--cpu=${Math.floor(limits.cpuSeconds)}:${Math.floor(limits.cpuSeconds) + 1}`, // SIGXCPU at the soft limit
    spec.memoryLimit === "as" ? `--as=${mem}` : `--data=${mem}`,
    `--fsize=${Math.floor(limits.fileBytes)}`,
    `--nproc=${Math.floor(limits.processes)}`,
    `--nofile=${Math.floor(limits.openFiles)}`,
    "--core=0",
    "--",
    spec.interpreter,
    ...spec.args(limits.memoryBytes),
    `${SANDBOX_CODE_DIR}/${spec.file}`,
  ];
}
