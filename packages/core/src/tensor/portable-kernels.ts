/**
 * Fixes and additions for the tfjs `wasm` backend (4.22), in plain TypeScript (no native code), installed when
 * this module is imported:
 * - `UnsortedSegmentSum` is missing on wasm; the gradient of `gather` (embedding lookups) needs it.
 * - `OneHot` ignores its dtype on wasm: `tf.oneHot(ids, n, 1, 0, "float32")` returns int32 bit patterns labelled
 *   float32 (1 reads as 1.4e-45). Replaced for non-int32 dtypes.
 * - `_FusedMatMul` adds the bias at wrong offsets on wasm when the output has more than one row
 *   (`tf.fused.matMul({a: [[1,2,3],[4,5,6]], b: I, bias: [10, 20]})` is off). Replaced by the wasm product
 *   without bias followed by a bias add (and activation) in TypeScript.
 * - `GatherV2` is slow on wasm (a strided element loop); row gathers become block copies.
 * - `Identity` shares the buffer instead of copying; `Transpose` and leading/trailing-axis `Sum` run as single
 *   strided passes (the wasm Sum transposes first).
 * Each fix keeps the original kernel's setup function (the wasm backend runs it at initialisation).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.TypedArray,
  ): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

const installed = new Set<string>();

function replace(
  kernelName: string,
  backendName: string,
  make: (orig: tf.KernelConfig | undefined) => tf.KernelConfig["kernelFunc"],
) {
  const orig = tf.getKernel(kernelName, backendName);
  if (orig) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...(orig ?? {}), kernelName, backendName, kernelFunc: make(orig) });
}

/** Installs the wasm fixes (idempotent; also done on import). */
export function installPortableKernels(backendName: string): void {
  if (backendName !== "wasm" || installed.has(backendName)) return;
  installed.add(backendName);

  if (tf.getKernel(tf.UnsortedSegmentSum, backendName) == null) {
    tf.registerKernel({
      kernelName: tf.UnsortedSegmentSum,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as HeapBackend;
        const x = inputs["x"] as tf.TensorInfo;
        const seg = inputs["segmentIds"] as tf.TensorInfo;
        const numSegments = attrs!["numSegments"] as number;
        if (seg.shape.length !== 1 || seg.shape[0] !== x.shape[0]) {
          throw new Error(
            `UnsortedSegmentSum (wasm, portable): segmentIds must be 1-D of length x.shape[0]; got [${seg.shape}] for x [${x.shape}]`,
          );
        }
        const inner = x.shape.slice(1).reduce((a, c) => a * c, 1);
        const out = b.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
        // Views after allocating the output: makeOutput may grow (and detach) the wasm heap.
        const o = b.typedArrayFromHeap(out);
        const xs = b.typedArrayFromHeap(x);
        const ids = b.typedArrayFromHeap(seg);
        o.fill(0);
        for (let r = 0; r < ids.length; r++) {
          const s = ids[r]!;
          if (s < 0 || s >= numSegments) continue;
          const src = r * inner;
          const dst = s * inner;
          for (let j = 0; j < inner; j++) o[dst + j]! += xs[src + j]!;
        }
        return out;
      },
    });
  }

  // GatherV2 on wasm 4.22 copies element by element through a generic strided loop: ~80 ms for 2048 rows of 128
  // floats. Row gathers (batchDims 0) are contiguous block copies.
  replace(tf.GatherV2, backendName, (orig) => (args) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    const indices = args.inputs["indices"] as tf.TensorInfo;
    const batchDims = (args.attrs?.["batchDims"] as number | undefined) ?? 0;
    let axis = (args.attrs?.["axis"] as number | undefined) ?? 0;
    if (axis < 0) axis += x.shape.length;
    if (batchDims !== 0 || x.dtype === "string" || x.dtype === "complex64" || indices.dtype !== "int32") {
      return orig!.kernelFunc(args);
    }
    const b = args.backend as unknown as HeapBackend;
    const outer = x.shape.slice(0, axis).reduce((p, c) => p * c, 1);
    const n = x.shape[axis]!;
    const inner = x.shape.slice(axis + 1).reduce((p, c) => p * c, 1);
    const out = b.makeOutput(
      [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)],
      x.dtype,
    );
    const o = b.typedArrayFromHeap(out);
    const xs = b.typedArrayFromHeap(x);
    const ids = b.typedArrayFromHeap(indices) as Int32Array;
    const k = ids.length;
    for (let p = 0; p < outer; p++) {
      for (let i = 0; i < k; i++) {
        const r = ids[i]!;
        if (r < 0 || r >= n) {
          b.disposeData(out.dataId);
          throw new Error(
            `GatherV2: index ${r} at position ${i} is outside [0, ${n}) for x of shape [${x.shape}]`,
          );
        }
        const src = (p * n + r) * inner;
        o.set(xs.subarray(src, src + inner), (p * k + i) * inner);
      }
    }
    return out;
  });

  // Identity copies the buffer on wasm; tensors are immutable, so sharing it (as the cpu backend does) is enough.
  replace(tf.Identity, backendName, (orig) => (args) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    if (x.dtype === "string") return orig!.kernelFunc(args);
    (args.backend as unknown as { incRef(d: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });

  // Transpose: one strided pass in TypeScript (the last output axis is the innermost loop).
  replace(tf.Transpose, backendName, (orig) => (args) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    const perm = args.attrs!["perm"] as number[];
    if (x.dtype === "string" || x.dtype === "complex64" || x.shape.length > 6) return orig!.kernelFunc(args);
    const b = args.backend as unknown as HeapBackend;
    const r = x.shape.length;
    const outShape = perm.map((p) => x.shape[p]!);
    const out = b.makeOutput(outShape, x.dtype);
    const o = b.typedArrayFromHeap(out);
    const xs = b.typedArrayFromHeap(x);
    const inStrides = new Array<number>(r);
    let s = 1;
    for (let i = r - 1; i >= 0; i--) {
      inStrides[i] = s;
      s *= x.shape[i]!;
    }
    const st = perm.map((p) => inStrides[p]!); // input stride of each output axis
    const last = outShape[r - 1] ?? 1;
    const ls = st[r - 1] ?? 1;
    const idx = new Array<number>(r).fill(0);
    const total = o.length;
    let src = 0;
    for (let dst = 0; dst < total; dst += last) {
      if (ls === 1) o.set(xs.subarray(src, src + last), dst);
      else for (let j = 0, q = src; j < last; j++, q += ls) o[dst + j] = xs[q]!;
      // odometer over the outer output axes
      for (let a = r - 2; a >= 0; a--) {
        idx[a]!++;
        src += st[a]!;
        if (idx[a]! < outShape[a]!) break;
        src -= st[a]! * outShape[a]!;
        idx[a] = 0;
      }
    }
    return out;
  });

  // Sum over leading or trailing axes (bias gradients, row sums) without the wasm backend's transpose.
  replace(tf.Sum, backendName, (orig) => (args) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    const r = x.shape.length;
    const raw = args.attrs!["axis"] as number | number[];
    const axes = [...new Set((Array.isArray(raw) ? raw : [raw]).map((a) => (a < 0 ? a + r : a)))].sort(
      (p, q) => p - q,
    );
    const keepDims = args.attrs!["keepDims"] as boolean;
    const leading = axes.every((a, i) => a === i);
    const trailing = axes.every((a, i) => a === r - axes.length + i);
    if (x.dtype !== "float32" || axes.length === 0 || (!leading && !trailing)) return orig!.kernelFunc(args);
    const b = args.backend as unknown as HeapBackend;
    const outShape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    const out = b.makeOutput(outShape, "float32");
    const o = b.typedArrayFromHeap(out) as Float32Array;
    const xs = b.typedArrayFromHeap(x) as Float32Array;
    const red = axes.reduce((p, a) => p * x.shape[a]!, 1);
    const keep = o.length;
    if (leading) {
      const acc = new Float64Array(keep);
      for (let i = 0; i < red; i++) {
        const base = i * keep;
        for (let j = 0; j < keep; j++) acc[j]! += xs[base + j]!;
      }
      o.set(acc);
    } else {
      for (let i = 0; i < keep; i++) {
        let acc = 0;
        const base = i * red;
        for (let j = 0; j < red; j++) acc += xs[base + j]!;
        o[i] = acc;
      }
    }
    return out;
  });

  replace(tf.OneHot, backendName, (orig) => (args) => {
    const dtype = (args.attrs?.["dtype"] as tf.DataType | undefined) ?? "int32";
    if (dtype === "int32" && orig) return orig.kernelFunc(args);
    const b = args.backend as unknown as HeapBackend;
    const ind = args.inputs["indices"] as tf.TensorInfo;
    const depth = args.attrs!["depth"] as number;
    const on = args.attrs!["onValue"] as number;
    const off = args.attrs!["offValue"] as number;
    const out = b.makeOutput([...ind.shape, depth], dtype);
    const o = b.typedArrayFromHeap(out);
    const ids = b.typedArrayFromHeap(ind);
    o.fill(off);
    for (let i = 0; i < ids.length; i++) {
      const k = ids[i]!;
      if (k >= 0 && k < depth) o[i * depth + k] = on;
    }
    return out;
  });

  replace(tf._FusedMatMul, backendName, (orig) => (args) => {
    const bias = args.inputs["bias"] as tf.TensorInfo | undefined;
    const act = (args.attrs?.["activation"] as string | undefined) ?? "linear";
    const simple = act === "linear" || act === "relu" || act === "sigmoid";
    if (!orig || bias == null || !simple || args.inputs["preluActivationWeights"] != null)
      return orig!.kernelFunc(args);
    const b = args.backend as unknown as HeapBackend;
    const out = orig.kernelFunc({
      ...args,
      inputs: { a: args.inputs["a"]!, b: args.inputs["b"]! },
      attrs: { ...args.attrs, activation: "linear" },
    }) as tf.TensorInfo;
    const y = b.typedArrayFromHeap(out) as Float32Array;
    const bv = b.typedArrayFromHeap(bias) as Float32Array;
    const n = out.shape[out.shape.length - 1]!;
    if (bv.length !== n && bv.length !== 1) {
      b.disposeData(out.dataId);
      return orig.kernelFunc(args);
    }
    for (let i = 0; i < y.length; i++) {
      let v = y[i]! + bv[bv.length === 1 ? 0 : i % n]!;
      if (act === "relu") v = Math.max(v, 0);
      else if (act === "sigmoid") v = 1 / (1 + Math.exp(-v));
      y[i] = v;
    }
    return out;
  });
}

installPortableKernels("wasm");
