/**
 * Backend selection for the tensor engine (TensorFlow.js 4.22).
 *
 * Order: `@tensorflow/tfjs-node-gpu` → `@tensorflow/tfjs-node` (when importable) → `wasm` + a registered native
 * kernel pack → plain `wasm` → `cpu`. The choice is printed once and returned as a {@link BackendInfo} that runs
 * record in their metadata.
 *
 * Core stays free of Node built-ins: whatever needs the file system or a native addon (the OpenBLAS kernel pack
 * of `@m2rl/kernels-native`) lives in another package and hands itself to core with {@link registerKernelPack}
 * (`import "@m2rl/kernels-native/register"` does that in Node).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { registerFusedGradients } from "./fused.ts";
import { installPortableKernels } from "./portable-kernels.ts";

/** A set of kernel overrides / additions for one tfjs backend (e.g. native BLAS kernels for `wasm`). */
export interface KernelPack {
  /** Short name, e.g. `"native-openblas"`. */
  readonly name: string;
  /** The tfjs backend whose kernels it replaces, e.g. `"wasm"`. */
  readonly backend: string;
  /** One line for logs and run metadata (library, version, threads). */
  readonly detail: string;
  /** Registers the pack's kernels (the backend is initialised); returns the kernel names it registered. */
  install(): string[];
  /** Restores the kernels that {@link install} replaced and removes the ones it added. */
  uninstall(): void;
}

export type BackendChoice = "tensorflow-gpu" | "tensorflow" | "wasm-native" | "wasm" | "cpu";

export const BACKEND_ORDER: readonly BackendChoice[] = [
  "tensorflow-gpu",
  "tensorflow",
  "wasm-native",
  "wasm",
  "cpu",
];

/** What ran; recorded in run metadata. */
export interface BackendInfo {
  choice: BackendChoice;
  /** tfjs backend name (`tensorflow`, `wasm`, `cpu`). */
  tfjsBackend: string;
  /** The kernel pack in use, if any. */
  kernelPack?: { name: string; detail: string; kernels: string[] };
  /** Choices tried before this one and why each was skipped. */
  skipped: { choice: BackendChoice; reason: string }[];
  /** One human line, e.g. `wasm + native-openblas (OpenBLAS 0.3.21, 2 threads)`. */
  description: string;
  tfjsVersion: string;
}

export interface InitBackendOptions {
  /** Choices to try first (in this order) before the default order. */
  prefer?: BackendChoice | readonly BackendChoice[];
  /** Only these choices are tried (default: all of {@link BACKEND_ORDER}). */
  only?: readonly BackendChoice[];
  /** Name of the kernel pack to use (default: the first registered for the backend). */
  kernelPack?: string;
  /** `false` skips the native kernel pack (like `M2RL_NATIVE=0`). Default true. */
  native?: boolean;
  /** Where to print the choice (default console.info); `null` prints nothing. */
  log?: ((line: string) => void) | null;
  /** Module loader for the tfjs-node backends (tests inject one). Default: dynamic `import()`. */
  importModule?: (specifier: string) => Promise<unknown>;
}

const packs: KernelPack[] = [];
let installedPack: KernelPack | undefined;
let installedKernels: string[] = [];
let current: BackendInfo | undefined;
let printed = false;

const unavailable: { name: string; reason: string }[] = [];
/** Records why a kernel pack could not be offered (printed once, in {@link initBackend}'s line). */
export function noteKernelPackUnavailable(name: string, reason: string): void {
  unavailable.push({ name, reason });
}

/** Hands a kernel pack to core; {@link initBackend} installs it when its backend is chosen. */
export function registerKernelPack(pack: KernelPack): void {
  const i = packs.findIndex((p) => p.name === pack.name);
  if (i >= 0) packs[i] = pack;
  else packs.push(pack);
}

/** Removes a kernel pack (uninstalling it first if it is active). */
export function unregisterKernelPack(name: string): void {
  if (installedPack?.name === name) uninstallPack();
  const i = packs.findIndex((p) => p.name === name);
  if (i >= 0) packs.splice(i, 1);
}

export function registeredKernelPacks(): readonly KernelPack[] {
  return packs;
}

/** The backend chosen by the last {@link initBackend}, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** The kernel pack currently installed, if any. */
export function activeKernelPack(): KernelPack | undefined {
  return installedPack;
}

function uninstallPack(): void {
  if (installedPack) {
    installedPack.uninstall();
    installedPack = undefined;
    installedKernels = [];
  }
}

const dynamicImport = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

async function trySet(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/**
 * Picks and initialises the fastest available backend (see the order above), installs a kernel pack where one
 * applies, prints the choice once, and returns its description.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const prefer =
    options.prefer === undefined
      ? []
      : typeof options.prefer === "string"
        ? [options.prefer]
        : options.prefer;
  const allowed = new Set(options.only ?? BACKEND_ORDER);
  const order = [...new Set([...prefer, ...BACKEND_ORDER])].filter((c) => allowed.has(c));
  const importModule = options.importModule ?? dynamicImport;
  const log = options.log === undefined ? (line: string) => console.info(line) : options.log;
  const skipped: BackendInfo["skipped"] = [];
  registerFusedGradients();
  for (const choice of order) {
    const reason = await attempt(choice, options, importModule);
    if (typeof reason === "string") {
      skipped.push({ choice, reason });
      continue;
    }
    const info: BackendInfo = { ...reason, skipped, tfjsVersion: tf.version_core };
    current = info;
    if (log && !printed) {
      printed = true;
      const why = skipped.length
        ? ` (skipped: ${skipped.map((s) => `${s.choice}: ${s.reason}`).join("; ")})`
        : "";
      log(`[m2rl] tensor backend: ${info.description}${why}`);
    }
    return info;
  }
  throw new Error(
    `no tensor backend could be initialised: ${skipped.map((s) => `${s.choice}: ${s.reason}`).join("; ")}`,
  );
}

type Attempt = Omit<BackendInfo, "skipped" | "tfjsVersion"> | string;

async function attempt(
  choice: BackendChoice,
  options: InitBackendOptions,
  importModule: (s: string) => Promise<unknown>,
): Promise<Attempt> {
  switch (choice) {
    case "tensorflow-gpu":
    case "tensorflow": {
      const mod = choice === "tensorflow-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
      try {
        await importModule(mod);
      } catch (e) {
        const msg = firstLine(e);
        return /Cannot find (package|module)/.test(msg)
          ? `${mod} not installed`
          : `${mod} failed to load (${msg})`;
      }
      if (tf.findBackend("tensorflow") == null && !tf.engine().registryFactory["tensorflow"]) {
        return `${mod} loaded but registered no "tensorflow" backend (different @tensorflow/tfjs-core copy?)`;
      }
      uninstallPack();
      if (!(await trySet("tensorflow"))) return `${mod}: tf.setBackend("tensorflow") failed`;
      return { choice, tfjsBackend: "tensorflow", description: `${mod} (TensorFlow C library)` };
    }
    case "wasm-native": {
      if (options.native === false) return "disabled (native: false / M2RL_NATIVE=0)";
      const pack = packs.find((p) => p.backend === "wasm" && (options.kernelPack ?? p.name) === p.name);
      if (!pack) {
        if (unavailable.length) return unavailable.map((u) => `${u.name}: ${u.reason}`).join("; ");
        return "no native kernel pack registered (import @m2rl/kernels-native/register in Node)";
      }
      if (!(await trySet("wasm"))) return 'tf.setBackend("wasm") failed';
      installPortableKernels("wasm");
      if (installedPack !== pack) {
        uninstallPack();
        try {
          installedKernels = pack.install();
          installedPack = pack;
        } catch (e) {
          return `kernel pack ${pack.name} failed to install (${firstLine(e)})`;
        }
      }
      const kernels = [...installedKernels];
      return {
        choice,
        tfjsBackend: "wasm",
        kernelPack: { name: pack.name, detail: pack.detail, kernels },
        description: `wasm + ${pack.name} (${pack.detail}; ${kernels.length} kernels)`,
      };
    }
    case "wasm":
    case "cpu": {
      uninstallPack();
      if (!(await trySet(choice))) return `tf.setBackend("${choice}") failed`;
      installPortableKernels(choice);
      return {
        choice,
        tfjsBackend: choice,
        description: `${choice} (plain TensorFlow.js ${tf.version_core})`,
      };
    }
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0]!.slice(0, 160);
}
