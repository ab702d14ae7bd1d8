/**
 * `import "@m2rl/kernels-native/register"`: offers the native kernel pack to @m2rl/core's `initBackend` (Node only).
 * `M2RL_NATIVE=0` disables it. When the addon is absent or fails to load, core records why and `initBackend` says
 * so once, in the line that names the chosen backend; everything then runs on plain TensorFlow.js.
 */
import { noteKernelPackUnavailable, registerKernelPack } from "@m2rl/core/tensor";
import { loadNativePack } from "./index.ts";

export const nativeDisabled = process.env["M2RL_NATIVE"] === "0";

if (nativeDisabled) {
  noteKernelPackUnavailable("native-openblas", "disabled by M2RL_NATIVE=0");
} else {
  const r = loadNativePack();
  if ("pack" in r) registerKernelPack(r.pack);
  else
    noteKernelPackUnavailable(
      "native-openblas",
      `addon not loaded (${r.error}); build it with \`npm rebuild @m2rl/kernels-native\``,
    );
}
