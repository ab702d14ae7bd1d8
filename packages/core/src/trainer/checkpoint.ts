/**
 * Trainer checkpoints in one FileStore folder: `model.safetensors` (policy weights by Hugging Face name, f32, a
 * folder mergers and `Checkpoint.open` read), `optimizer.safetensors` (`m.<name>`, `v.<name>`), and
 * `trainer_state.json` (step, RNG, scheduler state, data cursors, optimizer step). Each file is committed by the
 * store atomically (temp + rename); trainer_state.json is written last, so a folder without it is an incomplete
 * checkpoint and is never resumed from.
 */
import { Checkpoint, SafetensorsWriter } from "../checkpoint/index.ts";
import { CheckpointError } from "../errors/index.ts";
import type { FileStore } from "../io/index.ts";
import type { Policy } from "../policy/types.ts";
import type { AdamW, AdamWState } from "./optimizer.ts";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const MODEL_FILE = "model.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";

export interface TrainerState {
  version: 1;
  step: number;
  rng: number[];
  scheduler: Record<string, unknown>;
  cursors: Record<string, { epoch: number; pos: number }>;
  optimizerStep: number;
  stopReason: string | null;
  totalFlops: number;
  totalTokens: number;
}

async function writeTensors(
  store: FileStore,
  file: string,
  tensors: { name: string; shape: number[]; data: Float32Array }[],
  metadata: Record<string, string>,
): Promise<void> {
  const w = await SafetensorsWriter.create(
    await store.sink(file),
    tensors.map((t) => ({ name: t.name, dtype: "F32" as const, shape: t.shape })),
    metadata,
  );
  try {
    for (const t of tensors) await w.write(t.name, t.data);
  } catch (err) {
    await w.abort();
    throw err;
  }
  await w.finish();
}

async function readTensors(
  store: FileStore,
  file: string,
): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  if (!(await store.exists(file)))
    throw new CheckpointError("checkpoint file is missing", { file: `${store.name}/${file}` });
  const ck = await Checkpoint.open(store, file);
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of ck.tensors())
      out.set(t.name, { shape: [...t.shape], data: await ck.readFloat32(t.name) });
    return out;
  } finally {
    await ck.close();
  }
}

export async function saveTrainerCheckpoint(
  store: FileStore,
  policy: Policy,
  optimizer: AdamW,
  state: TrainerState,
): Promise<void> {
  const weights = policy.exportWeights();
  await writeTensors(
    store,
    MODEL_FILE,
    [...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data })),
    { format: "pt", step: String(state.step) },
  );
  const os = optimizer.exportState();
  const shapes = new Map([...weights].map(([n, w]) => [n, w.shape]));
  const slots: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const [name, data] of os.m)
    slots.push({ name: `m.${name}`, shape: shapes.get(name) ?? [data.length], data });
  for (const [name, data] of os.v)
    slots.push({ name: `v.${name}`, shape: shapes.get(name) ?? [data.length], data });
  await writeTensors(store, OPTIMIZER_FILE, slots, { step: String(os.step) });
  await store.writeText(
    TRAINER_STATE_FILE,
    `${JSON.stringify({ ...state, optimizerStep: os.step }, null, 2)}\n`,
  );
}

/** True when `store` holds a complete trainer checkpoint. */
export async function isTrainerCheckpoint(store: FileStore): Promise<boolean> {
  return store.exists(TRAINER_STATE_FILE);
}

export async function loadTrainerCheckpoint(
  store: FileStore,
  policy: Policy,
  optimizer: AdamW,
): Promise<TrainerState> {
  if (!(await store.exists(TRAINER_STATE_FILE))) {
    throw new CheckpointError(`no ${TRAINER_STATE_FILE}: not a complete trainer checkpoint`, {
      file: store.name,
    });
  }
  const file = `${store.name}/${TRAINER_STATE_FILE}`;
  let state: TrainerState;
  try {
    state = JSON.parse(await store.readText(TRAINER_STATE_FILE)) as TrainerState;
  } catch (e) {
    throw new CheckpointError(`not valid JSON (${(e as Error).message})`, { file });
  }
  if (state?.version !== 1)
    throw new CheckpointError(`unsupported trainer state version ${state?.version}`, { file });
  for (const k of ["step", "optimizerStep", "totalFlops", "totalTokens"] as const) {
    if (typeof state[k] !== "number")
      throw new CheckpointError("missing or non-numeric field", { file, path: k });
  }
  if (!Array.isArray(state.rng) || state.rng.length !== 4)
    throw new CheckpointError("bad rng state", { file, path: "rng" });
  policy.loadWeights(await readTensors(store, MODEL_FILE));
  const opt = await readTensors(store, OPTIMIZER_FILE);
  const os: AdamWState = { step: state.optimizerStep, m: new Map(), v: new Map() };
  for (const [name, t] of opt) {
    if (name.startsWith("m.")) os.m.set(name.slice(2), t.data);
    else if (name.startsWith("v.")) os.v.set(name.slice(2), t.data);
    else
      throw new CheckpointError("unexpected tensor in optimizer state", {
        file: `${store.name}/${OPTIMIZER_FILE}`,
        path: name,
      });
  }
  optimizer.importState(os);
  return state;
}
