/**
 * `import "@m2rl/kernels-native/register"`: offers the native kernel pack to @m2rl/core's `initBackend` (Node only).
 * `M2RL_NATIVE=0` disables it. When the addon is absent or fails to load, core records why and `initBackend` says
 * so once, in the line that names the chosen backend; everything then runs on plain TensorFlow.js.
 */
import { registerFloatCodec } from "@m2rl/core/checkpoint";
import { noteKernelPackUnavailable, registerKernelPack } from "@m2rl/core/tensor";
import { loadNativePack } from "./index.ts";
import { loadMergeAddon } from "./merge.ts";

export const nativeDisabled = process.env["M2RL_NATIVE"] === "0";

if (nativeDisabled) {
  noteKernelPackUnavailable("native-openblas", "disabled by M2RL_NATIVE=0");
} else {
  // BF16 checkpoint conversions (loading and saving policies) through the merge addon's SIMD codec
  const m = loadMergeAddon();
  if ("addon" in m) registerFloatCodec(m.addon);
  const r = loadNativePack();
  if ("pack" in r) registerKernelPack(r.pack);
  else
    noteKernelPackUnavailable(
      "native-openblas",
      `addon not loaded (${r.error}); build it with \`npm rebuild @m2rl/kernels-native\``,
    );
}
