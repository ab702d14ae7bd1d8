/** Test helper: selects tfjs's CPU backend once (deterministic, no wasm files needed). */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";

export async function useCpuBackend(): Promise<void> {
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
  await tf.ready();
}
