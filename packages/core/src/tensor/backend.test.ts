import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it } from "vitest";
import {
  activeKernelPack,
  initBackend,
  type KernelPack,
  registerKernelPack,
  unregisterKernelPack,
} from "./backend.ts";

const missing = async (s: string) => {
  throw new Error(`Cannot find package '${s}'`);
};

/** A kernel pack for wasm that adds one kernel, to watch install/uninstall. */
function fakePack(name: string, fail = false): KernelPack & { installs: number } {
  const kernelName = `M2rlTest_${name}`;
  const pack = {
    name,
    backend: "wasm",
    detail: "test pack",
    installs: 0,
    install() {
      if (fail) throw new Error("boom");
      pack.installs++;
      tf.registerKernel({
        kernelName,
        backendName: "wasm",
        kernelFunc: ({ inputs }) => inputs["x"] as tf.TensorInfo,
      });
      return [kernelName];
    },
    uninstall() {
      tf.unregisterKernel(kernelName, "wasm");
    },
  };
  return pack;
}

describe("initBackend: fallback order", () => {
  const active = activeKernelPack()?.name;
  afterAll(async () => {
    unregisterKernelPack("fake-a");
    unregisterKernelPack("fake-b");
    await initBackend({ log: null, importModule: missing, ...(active ? { kernelPack: active } : {}) });
  });

  it("skips tfjs-node-gpu and tfjs-node when not installed, in that order, and says why", async () => {
    const info = await initBackend({ log: null, importModule: missing, native: false });
    expect(info.skipped.map((s) => s.choice)).toEqual(["tensorflow-gpu", "tensorflow", "wasm-native"]);
    expect(info.skipped[0]!.reason).toMatch(/tfjs-node-gpu not installed/);
    expect(info.skipped[1]!.reason).toMatch(/tfjs-node not installed/);
    expect(info.skipped[2]!.reason).toMatch(/disabled/);
    expect(info.choice).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
  });

  it("takes tfjs-node-gpu first when it loads and registers the tensorflow backend", async () => {
    const loaded: string[] = [];
    const importModule = async (s: string) => {
      loaded.push(s);
      if (tf.findBackend("tensorflow") == null)
        tf.registerBackend("tensorflow", () => new MathBackendCPU(), 0);
    };
    const info = await initBackend({ log: null, importModule });
    expect(loaded).toEqual(["@tensorflow/tfjs-node-gpu"]);
    expect(info.choice).toBe("tensorflow-gpu");
    expect(tf.getBackend()).toBe("tensorflow");
    tf.removeBackend("tensorflow");
  });

  it("a module that loads but registers no backend is skipped", async () => {
    const info = await initBackend({
      log: null,
      importModule: async () => ({}),
      only: ["tensorflow", "cpu"],
    });
    expect(info.skipped[0]!.reason).toMatch(/registered no "tensorflow" backend/);
    expect(info.choice).toBe("cpu");
  });

  it("uses a registered wasm kernel pack, installs it once, and uninstalls it on a plain choice", async () => {
    const pack = fakePack("fake-a");
    registerKernelPack(pack);
    const info = await initBackend({ log: null, importModule: missing, kernelPack: "fake-a" });
    expect(info.choice).toBe("wasm-native");
    expect(info.kernelPack).toEqual({ name: "fake-a", detail: "test pack", kernels: ["M2rlTest_fake-a"] });
    expect(tf.getKernel("M2rlTest_fake-a", "wasm")).toBeDefined();
    await initBackend({ log: null, importModule: missing, kernelPack: "fake-a" });
    expect(pack.installs).toBe(1);
    const plain = await initBackend({ log: null, importModule: missing, prefer: "wasm" });
    expect(plain.choice).toBe("wasm");
    expect(tf.getKernel("M2rlTest_fake-a", "wasm")).toBeUndefined();
  });

  it("a pack that fails to install falls back to plain wasm with the reason", async () => {
    registerKernelPack(fakePack("fake-b", true));
    const info = await initBackend({ log: null, importModule: missing, kernelPack: "fake-b" });
    expect(info.choice).toBe("wasm");
    expect(info.skipped.find((s) => s.choice === "wasm-native")!.reason).toMatch(
      /fake-b failed to install \(boom\)/,
    );
  });

  it("prefer and only reorder and restrict the choices", async () => {
    expect((await initBackend({ log: null, importModule: missing, prefer: "cpu" })).choice).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    const info = await initBackend({ log: null, importModule: missing, only: ["wasm"] });
    expect(info.choice).toBe("wasm");
    expect(info.skipped).toEqual([]);
  });

  it("prints the choice once", async () => {
    const lines: string[] = [];
    await initBackend({ log: (l) => lines.push(l), importModule: missing, prefer: "wasm" });
    await initBackend({ log: (l) => lines.push(l), importModule: missing, prefer: "wasm" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[m2rl\] tensor backend: wasm \(plain TensorFlow.js 4.22.0\)/);
  });
});
