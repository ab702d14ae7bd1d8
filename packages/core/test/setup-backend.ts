/**
 * Vitest setup for core: picks the tensor backend the tests run on. In Node, with the native kernel pack built and
 * M2RL_NATIVE not "0", that is wasm + native-openblas; otherwise plain wasm (`npm run test-fallback` forces this).
 * The pack lives in @m2rl/kernels-native (Node only); core imports it here by name, at run time, so that core's
 * sources stay free of Node built-ins.
 */
import { initBackend } from "../src/tensor/index.ts";

const g = globalThis as { process?: { env: Record<string, string | undefined> }; Deno?: unknown };
const env = g.process?.env ?? {};
if (env["M2RL_NATIVE"] !== "0" && g.Deno === undefined) {
  const spec = "@m2rl/kernels-native/register";
  try {
    await import(/* @vite-ignore */ spec);
  } catch {
    // not built or not installed: initBackend falls back to plain wasm
  }
}
await initBackend({ log: env["M2RL_BACKEND_LOG"] ? undefined : null });
