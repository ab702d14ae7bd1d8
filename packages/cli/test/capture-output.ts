import { afterEach, beforeEach, vi } from "vitest";

/**
 * Captures what the CLI writes to stdout and stderr during each test of the calling file (commands run in-process
 * through `main()`). The returned arrays are emptied before every test.
 */
export function captureOutput(): { out: string[]; err: string[] } {
  const captured = { out: [] as string[], err: [] as string[] };
  beforeEach(() => {
    captured.out.length = 0;
    captured.err.length = 0;
    vi.spyOn(process.stdout, "write").mockImplementation((s) => {
      captured.out.push(String(s));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      captured.err.push(String(s));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return captured;
}
