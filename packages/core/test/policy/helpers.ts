// Test helpers (Node-only: tests are not part of the Deno-clean sources).
import { readdirSync, readFileSync } from "node:fs";
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { MemoryFileStore } from "../../src/checkpoint/index.ts";

export const FIXTURES = new URL("../golden/fixtures/", import.meta.url);

/** A fixture folder copied into a MemoryFileStore. */
export function fixtureStore(name: string): MemoryFileStore {
  const dir = new URL(`${name}/`, FIXTURES);
  const store = new MemoryFileStore(name);
  for (const f of readdirSync(dir)) store.files.set(f, new Uint8Array(readFileSync(new URL(f, dir))));
  return store;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).sort();
}

export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  await tf.setBackend(name);
  await tf.ready();
}

/** max |a − b| / max |b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** log-softmax of one row, in float64. */
export function logSoftmax64(z: readonly number[]): number[] {
  const max = Math.max(...z);
  let s = 0;
  for (const x of z) s += Math.exp(x - max);
  const lse = max + Math.log(s);
  return z.map((x) => x - lse);
}
