// Tensor engine: backend selection, kernel-pack hook, fused ops with gradients, Adam.
export * as tf from "@tensorflow/tfjs-core";
export type { AdamOptions as FusedAdamOptions } from "./adam.ts";
export { FusedAdam } from "./adam.ts";
export type { BackendChoice, BackendInfo, InitBackendOptions, KernelPack } from "./backend.ts";
export {
  activeKernelPack,
  BACKEND_ORDER,
  backendInfo,
  initBackend,
  noteKernelPackUnavailable,
  registeredKernelPacks,
  registerKernelPack,
  unregisterKernelPack,
} from "./backend.ts";
export {
  FUSED_KERNELS,
  fusedLogSoftmax,
  fusedRmsNorm,
  fusedRope,
  fusedSoftmax,
  fusedSwiGLU,
  fusedTokenLogProbs,
  hasKernel,
  registerFusedGradients,
  withPlainOps,
} from "./fused.ts";
export { installPortableKernels } from "./portable-kernels.ts";
