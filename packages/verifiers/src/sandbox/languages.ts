/** How each supported language is started inside the sandbox. */
import { realpathSync } from "node:fs";
import { basename, dirname } from "node:path";

export type Language = "python" | "javascript";

export const LANGUAGES: readonly Language[] = ["python", "javascript"];

export interface LanguageSpec {
  /** File name of the program inside the read-only /code folder. */
  file: string;
  /** Interpreter (absolute path, visible inside the sandbox through the read-only /usr bind). */
  interpreter: string;
  /** Interpreter arguments before the program path. */
  args(memoryBytes: number): string[];
  /** Which rlimit carries the memory limit: Python honours RLIMIT_AS; V8 reserves large address ranges up front,
   * so JavaScript gets RLIMIT_DATA (committed private memory) plus a V8 heap cap. */
  memoryLimit: "as" | "data";
  /** Extra environment. */
  env: Record<string, string>;
}

export interface InterpreterPaths {
  python: string;
  node: string;
}

/** Python from the system (scripts/install-system-deps.sh installs it); Node is the one running M2RL. */
export const DEFAULT_INTERPRETERS: InterpreterPaths = { python: "/usr/bin/python3", node: realNode() };

function realNode(): string {
  try {
    return realpathSync(process.execPath);
  } catch {
    return "/usr/bin/node";
  }
}

/**
 * Host folders an interpreter outside /usr needs inside the sandbox (read-only): its installation prefix
 * (`<prefix>/bin/node` → `<prefix>`), e.g. an nvm or /opt install. Empty for interpreters under /usr.
 */
export function interpreterBinds(path: string): string[] {
  if (path.startsWith("/usr/")) return [];
  const bin = dirname(path);
  return [basename(bin) === "bin" ? dirname(bin) : bin];
}

export function languageSpec(
  language: Language,
  paths: InterpreterPaths = DEFAULT_INTERPRETERS,
): LanguageSpec {
  switch (language) {
    case "python":
      return {
        file: "main.py",
        interpreter: paths.python,
        // -s: no user site-packages; -B: never write .pyc files.
        args: () => ["-s", "-B"],
        memoryLimit: "as",
        env: { PYTHONHASHSEED: "0", PYTHONIOENCODING: "utf-8" },
      };
    case "javascript":
      return {
        file: "main.js",
        interpreter: paths.node,
        args: (memoryBytes) => [
          `--max-old-space-size=${Math.max(16, Math.floor(memoryBytes / 2 / 1048576))}`,
        ],
        memoryLimit: "data",
        env: { NODE_OPTIONS: "" },
      };
  }
}

export function isLanguage(x: unknown): x is Language {
  return x === "python" || x === "javascript";
}
