/**
 * @m2rl/kernels-native: a kernel pack for the TensorFlow.js `wasm` backend. Kernels run in a native N-API addon
 * (OpenBLAS `cblas_sgemm` for matrix products, plain C loops for the fused ops) directly on Float32Array views of
 * the wasm heap: inputs are read where tfjs keeps them and outputs are written into buffers allocated by the
 * backend (`makeOutput`), so nothing is copied.
 *
 * `loadNativePack()` returns the pack, or the reason it is unavailable; `@m2rl/kernels-native/register` hands it
 * to core (see register.ts).
 */
import { createRequire } from "node:module";
import type { KernelPack } from "@m2rl/core/tensor";
import { FUSED_KERNELS } from "@m2rl/core/tensor";
import * as tf from "@tensorflow/tfjs-core";

/** The addon's functions (csrc/kernels.c). */
export interface NativeAddon {
  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    bias: Float32Array | null,
    accumulate: boolean,
  ): void;
  rmsnorm(x: Float32Array, w: Float32Array, y: Float32Array, rows: number, d: number, eps: number): void;
  rmsnormGrad(
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    dx: Float32Array,
    dw: Float32Array,
    rows: number,
    d: number,
    eps: number,
  ): void;
  swiglu(g: Float32Array, u: Float32Array, y: Float32Array, n: number): void;
  swigluGrad(
    dy: Float32Array,
    g: Float32Array,
    u: Float32Array,
    dg: Float32Array,
    du: Float32Array,
    n: number,
  ): void;
  rope(
    x: Float32Array,
    cos: Float32Array,
    sin: Float32Array,
    y: Float32Array,
    outer: number,
    t: number,
    inner: number,
    hd: number,
    sign: number,
  ): void;
  softmax(
    x: Float32Array,
    y: Float32Array,
    rows: number,
    cols: number,
    scale: number,
    causalRows: number,
    causalOffset: number,
    log: boolean,
  ): void;
  softmaxGrad(
    dy: Float32Array,
    y: Float32Array,
    dx: Float32Array,
    rows: number,
    cols: number,
    scale: number,
    log: boolean,
  ): void;
  tokenLogProb(logits: Float32Array, ids: Int32Array, out: Float32Array, rows: number, v: number): void;
  tokenLogProbGrad(
    dy: Float32Array,
    logits: Float32Array,
    ids: Int32Array,
    dl: Float32Array,
    rows: number,
    v: number,
  ): void;
  adam(
    p: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
    weightDecay: number,
  ): void;
  transpose(x: Float32Array, y: Float32Array, shape: Int32Array, perm: Int32Array): void;
  threads(set?: number): number;
  /** Products with fewer multiply-adds than this run on one BLAS thread (default 2^22); returns the value. */
  smallGemm(set?: number): number;
  config(): string;
}

/** Where the addon is built: build/Release next to src/ and dist/. */
export const ADDON_PATH = "../build/Release/m2rl_kernels.node";

/** Loads the addon; throws when it is missing or fails to load. */
export function loadAddon(): NativeAddon {
  const require = createRequire(import.meta.url);
  return require(ADDON_PATH) as NativeAddon;
}

/** The wasm backend's internals the pack uses (public methods of BackendWasm in 4.22). */
interface WasmBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type KernelFunc = tf.KernelConfig["kernelFunc"];
type KernelArgs = Parameters<KernelFunc>[0];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function f32(b: WasmBackend, t: tf.TensorInfo): Float32Array {
  return b.typedArrayFromHeap(t) as Float32Array;
}

/** Builds the pack from a loaded addon. */
export function createNativePack(addon: NativeAddon): KernelPack {
  const saved = new Map<string, tf.KernelConfig | undefined>();
  const kernels: Record<string, KernelFunc> = {};
  let originalBatchMatMul: KernelFunc | undefined;
  let originalFusedMatMul: KernelFunc | undefined;
  let originalTranspose: KernelFunc | undefined;

  /** Output batch shape for a [.., M, K] x [.., K, N] product when one side broadcasts as a whole (else null). */
  function batchOf(a: tf.TensorInfo, b: tf.TensorInfo) {
    const ba = a.shape.slice(0, -2);
    const bb = b.shape.slice(0, -2);
    const na = size(ba);
    const nb = size(bb);
    let outBatch: number[];
    try {
      outBatch = tf.broadcast_util.assertAndGetBroadcastShape(ba, bb);
    } catch {
      return null;
    }
    const no = size(outBatch);
    // One contiguous batch loop: both sides have the full batch, or one side is a single matrix (stride 0).
    if ((na === no || na === 1) && (nb === no || nb === 1)) return { batchA: na, batchB: nb, outBatch };
    return null;
  }

  function matmulKernel(args: KernelArgs, bias: tf.TensorInfo | null): tf.TensorInfo | null {
    const backend = args.backend as unknown as WasmBackend;
    const a = args.inputs["a"] as tf.TensorInfo;
    const b = args.inputs["b"] as tf.TensorInfo;
    const transA = (args.attrs?.["transposeA"] as boolean) ?? false;
    const transB = (args.attrs?.["transposeB"] as boolean) ?? false;
    if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2)
      return null;
    const br = batchOf(a, b);
    if (!br) return null;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const k2 = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (k !== k2) return null; // let the original kernel report the shape error
    if (bias && (bias.dtype !== "float32" || size(bias.shape) !== n)) return null;
    const out = backend.makeOutput([...br.outBatch, m, n], "float32");
    addon.matmul(
      f32(backend, a),
      f32(backend, b),
      f32(backend, out),
      br.batchA,
      br.batchB,
      m,
      n,
      k,
      transA,
      transB,
      bias ? f32(backend, bias) : null,
      false,
    );
    return out;
  }

  kernels[tf.BatchMatMul] = (args) =>
    matmulKernel(args, null) ?? (originalBatchMatMul!(args) as tf.TensorInfo);
  kernels[tf._FusedMatMul] = (args) => {
    const act = (args.attrs?.["activation"] as string | undefined) ?? "linear";
    const bias = (args.inputs["bias"] as tf.TensorInfo | undefined) ?? null;
    const out =
      act === "linear" && args.inputs["preluActivationWeights"] == null ? matmulKernel(args, bias) : null;
    return out ?? (originalFusedMatMul!(args) as tf.TensorInfo);
  };

  kernels[tf.Transpose] = (args) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    const perm = args.attrs!["perm"] as number[];
    if (x.dtype !== "float32" || x.shape.length === 0 || x.shape.length > 8)
      return originalTranspose!(args) as tf.TensorInfo;
    const b = args.backend as unknown as WasmBackend;
    const out = b.makeOutput(
      perm.map((p) => x.shape[p]!),
      "float32",
    );
    addon.transpose(f32(b, x), f32(b, out), Int32Array.from(x.shape), Int32Array.from(perm));
    return out;
  };

  kernels[FUSED_KERNELS.rmsNorm] = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const x = inputs["x"] as tf.TensorInfo;
    const w = inputs["weight"] as tf.TensorInfo;
    const d = x.shape[x.shape.length - 1]!;
    if (size(w.shape) !== d)
      throw new Error(`M2rlRmsNorm: weight [${w.shape}] does not match x [${x.shape}]`);
    const y = b.makeOutput([...x.shape], "float32");
    addon.rmsnorm(f32(b, x), f32(b, w), f32(b, y), size(x.shape) / d, d, attrs!["eps"] as number);
    return y;
  };
  kernels[FUSED_KERNELS.rmsNormGrad] = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const dy = inputs["dy"] as tf.TensorInfo;
    const x = inputs["x"] as tf.TensorInfo;
    const w = inputs["weight"] as tf.TensorInfo;
    const d = x.shape[x.shape.length - 1]!;
    const dx = b.makeOutput([...x.shape], "float32");
    const dw = b.makeOutput([...w.shape], "float32");
    addon.rmsnormGrad(
      f32(b, dy),
      f32(b, x),
      f32(b, w),
      f32(b, dx),
      f32(b, dw),
      size(x.shape) / d,
      d,
      attrs!["eps"] as number,
    );
    return [dx, dw];
  };
  kernels[FUSED_KERNELS.swiglu] = ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const g = inputs["gate"] as tf.TensorInfo;
    const u = inputs["up"] as tf.TensorInfo;
    const y = b.makeOutput([...g.shape], "float32");
    addon.swiglu(f32(b, g), f32(b, u), f32(b, y), size(g.shape));
    return y;
  };
  kernels[FUSED_KERNELS.swigluGrad] = ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const dy = inputs["dy"] as tf.TensorInfo;
    const g = inputs["gate"] as tf.TensorInfo;
    const u = inputs["up"] as tf.TensorInfo;
    const dg = b.makeOutput([...g.shape], "float32");
    const du = b.makeOutput([...g.shape], "float32");
    addon.swigluGrad(f32(b, dy), f32(b, g), f32(b, u), f32(b, dg), f32(b, du), size(g.shape));
    return [dg, du];
  };
  kernels[FUSED_KERNELS.rope] = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const x = inputs["x"] as tf.TensorInfo;
    const cos = inputs["cos"] as tf.TensorInfo;
    const sin = inputs["sin"] as tf.TensorInfo;
    const axis = attrs!["seqAxis"] as number;
    const r = x.shape.length;
    const t = x.shape[axis]!;
    const hd = x.shape[r - 1]!;
    const outer = size(x.shape.slice(0, axis));
    const inner = size(x.shape.slice(axis + 1, r - 1));
    const y = b.makeOutput([...x.shape], "float32");
    addon.rope(f32(b, x), f32(b, cos), f32(b, sin), f32(b, y), outer, t, inner, hd, attrs!["sign"] as number);
    return y;
  };
  kernels[FUSED_KERNELS.softmax] = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const x = inputs["x"] as tf.TensorInfo;
    const r = x.shape.length;
    const cols = x.shape[r - 1]!;
    const causal = attrs!["causal"] as boolean;
    const tq = causal ? x.shape[r - 2]! : 0;
    const y = b.makeOutput([...x.shape], "float32");
    const rows = size(x.shape) / cols;
    addon.softmax(
      f32(b, x),
      f32(b, y),
      rows,
      cols,
      attrs!["scale"] as number,
      tq,
      cols - tq,
      attrs!["log"] as boolean,
    );
    return y;
  };
  kernels[FUSED_KERNELS.softmaxGrad] = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const dy = inputs["dy"] as tf.TensorInfo;
    const y = inputs["y"] as tf.TensorInfo;
    const cols = y.shape[y.shape.length - 1]!;
    const dx = b.makeOutput([...y.shape], "float32");
    addon.softmaxGrad(
      f32(b, dy),
      f32(b, y),
      f32(b, dx),
      size(y.shape) / cols,
      cols,
      attrs!["scale"] as number,
      attrs!["log"] as boolean,
    );
    return dx;
  };
  kernels[FUSED_KERNELS.tokenLogProb] = ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const logits = inputs["logits"] as tf.TensorInfo;
    const ids = inputs["ids"] as tf.TensorInfo;
    const v = logits.shape[logits.shape.length - 1]!;
    const rows = size(logits.shape) / v;
    if (ids.dtype !== "int32" || size(ids.shape) !== rows) {
      throw new Error(
        `M2rlTokenLogProb: ids must be int32 [${logits.shape.slice(0, -1)}], got ${ids.dtype} [${ids.shape}]`,
      );
    }
    const out = b.makeOutput(logits.shape.slice(0, -1), "float32");
    addon.tokenLogProb(f32(b, logits), b.typedArrayFromHeap(ids) as Int32Array, f32(b, out), rows, v);
    return out;
  };
  kernels[FUSED_KERNELS.tokenLogProbGrad] = ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const dy = inputs["dy"] as tf.TensorInfo;
    const logits = inputs["logits"] as tf.TensorInfo;
    const ids = inputs["ids"] as tf.TensorInfo;
    const v = logits.shape[logits.shape.length - 1]!;
    const dl = b.makeOutput([...logits.shape], "float32");
    const ida = b.typedArrayFromHeap(ids) as Int32Array;
    addon.tokenLogProbGrad(f32(b, dy), f32(b, logits), ida, f32(b, dl), size(logits.shape) / v, v);
    return dl;
  };
  kernels[FUSED_KERNELS.adam] = ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const p = inputs["param"] as tf.TensorInfo;
    const outs = [0, 1, 2].map(() => b.makeOutput([...p.shape], "float32"));
    const [po, mo, vo] = outs.map((o) => f32(b, o));
    const a = attrs as Record<string, number>;
    addon.adam(
      f32(b, p),
      f32(b, inputs["m"] as tf.TensorInfo),
      f32(b, inputs["v"] as tf.TensorInfo),
      f32(b, inputs["grad"] as tf.TensorInfo),
      po!,
      mo!,
      vo!,
      size(p.shape),
      a["lr"]!,
      a["beta1"]!,
      a["beta2"]!,
      a["epsilon"]!,
      a["step"]!,
      a["weightDecay"] ?? 0,
    );
    return outs;
  };

  const names = Object.keys(kernels);
  return {
    name: "native-openblas",
    backend: "wasm",
    detail: `${addon.config().trim()}, ${addon.threads()} BLAS threads`,
    install() {
      for (const name of names) {
        const prev = tf.getKernel(name, "wasm");
        saved.set(name, prev);
        if (prev) tf.unregisterKernel(name, "wasm");
        if (name === tf.BatchMatMul) originalBatchMatMul = prev?.kernelFunc;
        if (name === tf._FusedMatMul) originalFusedMatMul = prev?.kernelFunc;
        if (name === tf.Transpose) originalTranspose = prev?.kernelFunc;
        tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: kernels[name]! });
      }
      return [...names];
    },
    uninstall() {
      for (const name of names) {
        if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
        const prev = saved.get(name);
        if (prev) tf.registerKernel(prev);
      }
      saved.clear();
    },
  };
}

/** The pack, or why it is unavailable (addon not built, failed to load). */
export function loadNativePack(): { pack: KernelPack } | { error: string } {
  try {
    return { pack: createNativePack(loadAddon()) };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split("\n")[0]! : String(e) };
  }
}
