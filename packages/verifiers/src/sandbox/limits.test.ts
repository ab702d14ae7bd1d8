import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, LIMITS_SCHEMA } from "./limits.ts";

describe("sandbox limits, declared once", () => {
  it("defaults are the documented ones (wall 10 s, CPU 5 s, memory 512 MiB, 32 processes, 1 MiB stdout)", () => {
    expect(DEFAULT_LIMITS).toEqual({
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
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });
  it("the schema takes a partial block within bounds and refuses unknown keys", () => {
    const validate = new Ajv({ strict: false }).compile(LIMITS_SCHEMA);
    expect(validate({ wallMs: 3000 })).toBe(true);
    expect(validate({})).toBe(true);
    expect(validate({ wallMs: 5 })).toBe(false);
    expect(validate({ cpuSeconds: 601 })).toBe(false);
    expect(validate({ memoryBytes: 1024 })).toBe(false);
    expect(validate({ wallMS: 3000 })).toBe(false);
  });
});
