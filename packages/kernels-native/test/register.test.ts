/**
 * The register entry: with the addon built and M2RL_NATIVE unset, initBackend picks wasm + native-openblas; with
 * M2RL_NATIVE=0 (the test-fallback target) it picks plain wasm and names the reason in its one printed line.
 */
import { initBackend } from "@m2rl/core/tensor";
import { expect, it } from "vitest";
import { loadNativePack } from "../src/index.ts";
import { nativeDisabled } from "../src/register.ts";

const missing = async (s: string) => {
  throw new Error(`Cannot find package '${s}'`);
};

it("register honours M2RL_NATIVE and the backend line says why native is off", async () => {
  expect(nativeDisabled).toBe(process.env["M2RL_NATIVE"] === "0");
  const lines: string[] = [];
  const info = await initBackend({ log: (l) => lines.push(l), importModule: missing });
  if (nativeDisabled) {
    expect(info.choice).toBe("wasm");
    expect(lines.join("\n")).toMatch(/wasm-native: native-openblas: disabled by M2RL_NATIVE=0/);
  } else if ("pack" in loadNativePack()) {
    expect(info.choice).toBe("wasm-native");
    expect(info.kernelPack?.kernels).toEqual(
      expect.arrayContaining(["BatchMatMul", "M2rlRmsNorm", "M2rlAdam"]),
    );
  } else {
    // Under CI the addon must have built (npm ci builds it from source): a missing pack fails, it never skips.
    expect(process.env.CI, `native addon not loaded under CI: ${lines.join(" ")}`).not.toBe("true");
    expect(info.choice).toBe("wasm");
    expect(lines.join("\n")).toMatch(/addon not loaded/);
  }
  expect(lines).toHaveLength(1);
});
