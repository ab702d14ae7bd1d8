/**
 * Merged vocabularies and embedding surgery, as mergekit does them (mergekit/tokenizer/build.py build_tokenizer,
 * build_union_tokenizer, get_stripped_tokenizer; mergekit/tokenizer/embed.py PermutedEmbeddings):
 *
 * - a vocabulary is what transformers' `get_vocab()` gives for a tokenizer.json: the model's vocabulary and the
 *   added tokens, token string → id; ids at or past a model's `vocab_size` (config.json) are not used by it;
 * - the output vocabulary is the base's (`base`), a named model's (`<model>`) or the union: the base's, then every
 *   model's tokens the base lacks (tokens of the model vocabularies first, then added tokens), appended as added
 *   tokens with new ids; then the `tokens:` of the tokenizer block that are not in it yet;
 * - every [vocabulary, hidden] tensor (embed_tokens, lm_head, a tied head) of every input is read through a row map
 *   (output row → that input's row for the same token string, or a fill) and the merge method runs on the permuted
 *   rows. A token an input lacks gets, for every input alike, its configured source, else: the row of the only
 *   input that has it, zero when none has it, the base's row when the base has it, else the mean of the rows of
 *   the inputs that have it. `force` gives the configured source to the inputs that have the token too. Rows added
 *   by pad_to_multiple_of get the mean of the input's permuted rows.
 */
import type { Checkpoint } from "@m2rl/core/checkpoint";
import { CheckpointError } from "@m2rl/core/errors";
import type { SourceRef } from "./plan.ts";

/** An added token, as tokenizer.json's `added_tokens` holds it. */
export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** A tokenizer's vocabulary (transformers' `get_vocab()`) and its added tokens. */
export interface Vocabulary {
  /** Token → id, in id order: the model's vocabulary and the added tokens (an added token's id wins). */
  ids: Map<string, number>;
  /** Added tokens, by id. */
  added: AddedToken[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The model vocabulary of a parsed tokenizer.json: BPE / WordPiece / WordLevel maps, Unigram lists. */
function modelVocab(json: Record<string, unknown>): [string, number][] {
  const model = json.model;
  if (!isObject(model)) throw new Error("no 'model' object (not a Hugging Face tokenizer.json)");
  const v = model.vocab;
  if (model.type === "Unigram") {
    if (!Array.isArray(v)) throw new Error("a Unigram model's vocab must be a list of [piece, score]");
    return v.map((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== "string")
        throw new Error(`vocab entry ${i} is not [piece, score]`);
      return [e[0], i];
    });
  }
  if (!isObject(v)) throw new Error(`model.vocab of a ${String(model.type ?? "?")} model must be an object`);
  return Object.entries(v).map(([t, id]) => {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw new Error(`model.vocab[${JSON.stringify(t)}] is not an id`);
    return [t, id as number];
  });
}

/** The vocabulary of a parsed tokenizer.json (throws an Error saying what is wrong with it). */
export function readVocabulary(json: unknown): Vocabulary {
  if (!isObject(json)) throw new Error("not a JSON object");
  const entries = modelVocab(json);
  const added: AddedToken[] = [];
  for (const [i, a] of (Array.isArray(json.added_tokens) ? json.added_tokens : []).entries()) {
    if (!isObject(a) || typeof a.content !== "string" || !Number.isInteger(a.id) || (a.id as number) < 0)
      throw new Error(`added_tokens[${i}] needs an id and a content`);
    added.push({
      id: a.id as number,
      content: a.content,
      single_word: a.single_word === true,
      lstrip: a.lstrip === true,
      rstrip: a.rstrip === true,
      normalized: a.normalized !== false,
      special: a.special === true,
    });
  }
  added.sort((x, y) => x.id - y.id);
  const byToken = new Map<string, number>(entries);
  for (const a of added) byToken.set(a.content, a.id);
  return { ids: new Map([...byToken].sort((x, y) => x[1] - y[1])), added };
}

/** The tokens a model uses: ids below `limit` (its config.json vocab_size). */
export function limitVocabulary(v: Vocabulary, limit: number): Vocabulary {
  if (![...v.ids.values()].some((id) => id >= limit)) return v;
  return {
    ids: new Map([...v.ids].filter(([, id]) => id < limit)),
    added: v.added.filter((a) => a.id < limit),
  };
}

/** The output vocabulary: a tokenizer's (stripped or not) with `appended` tokens added after its last id. */
export interface OutputVocabulary {
  ids: Map<string, number>;
  /** Highest id + 1. */
  size: number;
  /** Tokens added to the source tokenizer, as added tokens, by id. */
  appended: AddedToken[];
}

const plainAdded = (content: string, id: number): AddedToken => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  // transformers' add_tokens("...") makes AddedToken(content, special=False), which is normalized
  normalized: true,
  special: false,
});

function appendTo(out: OutputVocabulary, token: AddedToken): void {
  if (out.ids.has(token.content)) return;
  const id = out.size++;
  out.ids.set(token.content, id);
  out.appended.push({ ...token, id });
}

/** The output vocabulary starting from `source` (no tokens added yet). */
export function outputVocabulary(source: Vocabulary): OutputVocabulary {
  let max = -1;
  for (const id of source.ids.values()) if (id > max) max = id;
  return { ids: new Map(source.ids), size: max + 1, appended: [] };
}

/**
 * mergekit's build_union_tokenizer: the base's vocabulary (vocabs[0], already limited to its vocab_size), then
 * the tokens of every model vocabulary the base lacks (each vocabulary in id order, in the order given), then the
 * added tokens of all of them (a token that is an added token anywhere is added with the first settings seen).
 * mergekit walks Python dicts built from Rust hash maps and a set of models, whose order is arbitrary; here the
 * order is the inputs' (base first, then the models as listed) and ids within each.
 */
export function unionVocabulary(vocabs: readonly Vocabulary[]): OutputVocabulary {
  const out = outputVocabulary(vocabs[0]);
  const added = new Map<string, AddedToken>();
  for (const v of vocabs) for (const a of v.added) if (!added.has(a.content)) added.set(a.content, a);
  for (const v of vocabs) {
    for (const tok of v.ids.keys()) if (!added.has(tok)) appendTo(out, plainAdded(tok, 0));
  }
  for (const a of added.values()) appendTo(out, a);
  return out;
}

/** Adds `tokens` (the tokenizer block's keys) that are not in the vocabulary yet, as plain added tokens. */
export function addTokens(out: OutputVocabulary, tokens: readonly string[]): void {
  for (const t of tokens) appendTo(out, plainAdded(t, 0));
}

/** What a row that does not come from the input's own row for its token gets. */
export type RowFill =
  | { kind: "zero" }
  /** The mean of these rows, pairs [input, row] flattened (inputs in plan order: base first); one pair: a copy. */
  | { kind: "rows"; from: number[] }
  /** The mean of this input's permuted rows 0 .. rows-1 (the rows added by pad_to_multiple_of). */
  | { kind: "mean"; rows: number };

/**
 * How one input's rows of a [vocabulary, hidden] tensor are read: `runs` holds triplets [first output row, first
 * input row, count] covering output rows 0 .. total-1 in order; an input row -1 - f means every row of the run gets
 * fills[f]. Shared `fills` are the same object for every input of the tensor.
 */
export interface RowMap {
  runs: Int32Array;
  fills: readonly RowFill[];
}

/** A token's configured source, with models resolved to input positions. */
export type ResolvedTokenSource =
  | { kind: "zero" }
  | { kind: "model"; input: number }
  | { kind: "row"; input: number; row: number };

/** The output vocabulary against the inputs, from which every vocabulary tensor's row maps are made. */
export interface VocabPlan {
  /** Tokens in the output vocabulary (highest id + 1). */
  size: number;
  /** Rows of the output's vocabulary tensors: size rounded up to pad_to_multiple_of. */
  rows: number;
  /** Per input (plan order: base first): output id → the input's id for that token, or -1. */
  maps: Int32Array[];
  /** Labels of the inputs, for messages. */
  labels: string[];
  fills: RowFill[];
  /** Output id → index in `fills`, for the ids some input lacks or that are forced. */
  fillOf: Map<number, number>;
  /** Output ids whose configured source replaces every input's own row. */
  forced: Set<number>;
  /** Tokens no input has (zero rows), for a warning. */
  unknown: string[];
}

/**
 * mergekit's build_tokenizer permutations and PermutedEmbeddings.assign_embedding_sources. `vocabs[k]` is input
 * k's vocabulary limited to its vocab_size; `base` the position of the base among the inputs (undefined: none);
 * `settings` the tokenizer block's tokens by output id. Throws an Error (with the token) when a configured model
 * does not have the token.
 */
export function planVocab(
  out: OutputVocabulary,
  vocabs: readonly Vocabulary[],
  labels: string[],
  base: number | undefined,
  settings: ReadonlyMap<number, { source?: ResolvedTokenSource; force: boolean }>,
  padToMultipleOf?: number,
): VocabPlan {
  const n = out.size;
  const rows = padToMultipleOf && n % padToMultipleOf ? n + padToMultipleOf - (n % padToMultipleOf) : n;
  const maps = vocabs.map((v) => {
    const m = new Int32Array(n).fill(-1);
    for (const [tok, id] of out.ids) {
      const j = v.ids.get(tok);
      if (j !== undefined) m[id] = j;
    }
    return m;
  });
  const tokenOf: string[] = [];
  for (const [tok, id] of out.ids) tokenOf[id] = tok;
  const fills: RowFill[] = [];
  const fillOf = new Map<number, number>();
  const forced = new Set<number>();
  const unknown: string[] = [];
  const zero = (): number => {
    const i = fills.findIndex((f) => f.kind === "zero");
    if (i >= 0) return i;
    fills.push({ kind: "zero" });
    return fills.length - 1;
  };
  for (let id = 0; id < n; id++) {
    const set = settings.get(id);
    if (set?.force) forced.add(id);
    const present: number[] = [];
    for (let k = 0; k < maps.length; k++) if (maps[k][id] >= 0) present.push(k);
    // a configured source is checked whether or not it is needed (mergekit computes it for every listed token)
    const src = set?.source;
    let fill: RowFill | undefined;
    if (src?.kind === "zero") fill = { kind: "zero" };
    else if (src?.kind === "row") fill = { kind: "rows", from: [src.input, src.row] };
    else if (src?.kind === "model") {
      const row = maps[src.input][id];
      if (row < 0)
        throw new Error(`token ${JSON.stringify(tokenOf[id])} is not in ${labels[src.input]}'s vocabulary`);
      fill = { kind: "rows", from: [src.input, row] };
    }
    if (present.length === maps.length && !set?.force) continue;
    if (fill === undefined) {
      if (present.length === 0) {
        unknown.push(tokenOf[id] ?? `#${id}`);
        fill = { kind: "zero" };
      } else if (present.length === 1) fill = { kind: "rows", from: [present[0], maps[present[0]][id]] };
      else if (base !== undefined && maps[base][id] >= 0)
        fill = { kind: "rows", from: [base, maps[base][id]] };
      else fill = { kind: "rows", from: present.flatMap((k) => [k, maps[k][id]]) };
    }
    if (fill.kind === "zero") fillOf.set(id, zero());
    else {
      fills.push(fill);
      fillOf.set(id, fills.length - 1);
    }
  }
  return { size: n, rows, maps, labels, fills, fillOf, forced, unknown };
}

/** [vocabulary, hidden] tensors: input embeddings and output heads (tied or not). */
const VOCAB_TENSOR = /(?:^|\.)(?:embed_tokens|wte|embed_in|word_embeddings|lm_head|embed_out)\.weight$/;

/** Whether `name` is an embedding or an LM head, whose rows follow the vocabulary. */
export const isVocabTensor = (name: string): boolean => VOCAB_TENSOR.test(name);

/** Triplets [output row, input row or -1 - fill, count] from a per-row function, consecutive rows joined. */
function runsOf(total: number, rowOf: (r: number) => number): Int32Array {
  const out: number[] = [];
  for (let r = 0; r < total; r++) {
    const v = rowOf(r);
    const last = out.length - 3;
    if (last >= 0) {
      const [r0, v0, c] = [out[last], out[last + 1], out[last + 2]];
      if (r0 + c === r && (v >= 0 ? v0 >= 0 && v0 + c === v : v0 === v)) {
        out[last + 2]++;
        continue;
      }
    }
    out.push(r, v, 1);
  }
  return Int32Array.from(out);
}

/**
 * Sets the row maps of a vocabulary tensor's inputs (`sources`, plan order) and returns the output shape; undefined
 * when `name` is not a [vocabulary, hidden] tensor. Inputs already in output order (no fill, as many rows) keep no
 * map and are read as stored. A different hidden size, or a row the vocabulary needs past the tensor's rows, is a
 * CheckpointError naming the input.
 */
export function planVocabTensor(
  plan: VocabPlan,
  name: string,
  sources: readonly SourceRef[],
): [number, number] | undefined {
  if (!isVocabTensor(name) || !sources.every((s) => s.shape.length === 2)) return undefined;
  const cols = sources[0].shape[1];
  const fail = (k: number, msg: string): never => {
    throw new CheckpointError(`${plan.labels[k]} ${msg}`, { path: name });
  };
  for (const [k, s] of sources.entries()) {
    if (s.shape[1] !== cols)
      fail(
        k,
        `has [${s.shape.join(", ")}], ${plan.labels[0]} [${sources[0].shape.join(", ")}]: only the row count (the vocabulary) may differ`,
      );
  }
  // fills read rows of any input: each must be there
  for (const f of plan.fills) {
    if (f.kind !== "rows") continue;
    for (let i = 0; i < f.from.length; i += 2) {
      const [k, row] = [f.from[i], f.from[i + 1]];
      if (row >= sources[k].shape[0])
        fail(k, `has ${sources[k].shape[0]} rows, a token's row ${row} is asked for`);
    }
  }
  const fills: RowFill[] = [...plan.fills];
  const mean = plan.rows > plan.size ? fills.push({ kind: "mean", rows: plan.size }) - 1 : -1;
  const maps = sources.map((s, k) => {
    const m = plan.maps[k];
    let top = -1;
    const runs = runsOf(plan.rows, (r) => {
      if (r >= plan.size) return -1 - mean;
      if (m[r] >= 0 && !plan.forced.has(r)) {
        if (m[r] > top) top = m[r];
        return m[r];
      }
      return -1 - plan.fillOf.get(r)!;
    });
    if (top >= s.shape[0])
      fail(
        k,
        `has ${s.shape[0]} rows, but its tokenizer gives a token id ${top} (is vocab_size in its config.json right?)`,
      );
    const identity = runs.length === 3 && runs[1] === 0 && s.shape[0] === plan.rows;
    return identity ? undefined : { runs, fills };
  });
  if (maps.some((m) => m !== undefined))
    for (const [k, s] of sources.entries()) if (maps[k]) s.rows = maps[k];
  return [plan.rows, cols];
}

/** One input of a tensor: its checkpoint and where the tensor is in it. */
export interface RowSource {
  ck: Checkpoint;
  src: SourceRef;
}

/** Elements read per block when a whole input is summed (the mean fill). */
const BLOCK_ELEMENTS = 1 << 20;
/** Reads in flight at once. */
const PARALLEL_READS = 16;

async function inParallel(tasks: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, tasks.length) }, worker));
}

/**
 * Reads elements [range.start, range.start + range.count) (default: all) of `self`'s input permuted by its row map
 * `self.src.rows` into `buffer(n)` (n: that many elements), which it returns: runs of own rows are read straight into `out`, fill rows
 * computed once per call from the rows they name in `inputs` (the tensor's inputs, plan order). Only the rows the
 * range covers are read, except that a range holding padding rows reads this input once more, block by block, for
 * their mean.
 */
export async function permuteRows(
  self: RowSource,
  inputs: readonly RowSource[],
  range: { start: number; count: number } | undefined,
  buffer: (n: number) => Float32Array,
): Promise<Float32Array> {
  const { runs, fills } = self.src.rows!;
  const cols = self.src.shape[1];
  const total = runs.length ? runs[runs.length - 3] + runs[runs.length - 1] : 0;
  const start = range?.start ?? 0;
  const end = start + (range?.count ?? total * cols);
  const out = buffer(end - start);
  const cache = new Map<number, Promise<Float32Array>>();
  const readRows = (s: RowSource, row: number, n: number, into?: Float32Array) =>
    s.ck.readFloat32(s.src.name, { start: row * cols, count: n * cols }, into);
  const fillRow = (f: number): Promise<Float32Array> => {
    let p = cache.get(f);
    if (!p) {
      p = computeFill(fills[f]);
      cache.set(f, p);
    }
    return p;
  };
  const computeFill = async (fill: RowFill): Promise<Float32Array> => {
    const acc = new Float64Array(cols);
    if (fill.kind === "rows") {
      for (let i = 0; i < fill.from.length; i += 2) {
        const row = await readRows(inputs[fill.from[i]], fill.from[i + 1], 1);
        for (let c = 0; c < cols; c++) acc[c] += row[c];
      }
      for (let c = 0; c < cols; c++) acc[c] /= fill.from.length / 2;
    } else if (fill.kind === "mean") {
      const block = Math.max(1, Math.floor(BLOCK_ELEMENTS / cols));
      for (let i = 0; i < runs.length; i += 3) {
        const [r0, from] = [runs[i], runs[i + 1]];
        const n = Math.min(runs[i + 2], fill.rows - r0);
        if (n <= 0) break;
        if (from < 0) {
          const row = await fillRow(-1 - from);
          for (let c = 0; c < cols; c++) acc[c] += row[c] * n;
          continue;
        }
        for (let b = 0; b < n; b += block) {
          const m = Math.min(block, n - b);
          const x = await readRows(self, from + b, m);
          for (let r = 0; r < m; r++) for (let c = 0; c < cols; c++) acc[c] += x[r * cols + c];
        }
      }
      for (let c = 0; c < cols; c++) acc[c] /= fill.rows;
    }
    return Float32Array.from(acc);
  };
  const tasks: (() => Promise<void>)[] = [];
  for (let i = 0; i < runs.length; i += 3) {
    const [r0, from, n] = [runs[i], runs[i + 1], runs[i + 2]];
    const e0 = Math.max(start, r0 * cols);
    const e1 = Math.min(end, (r0 + n) * cols);
    if (e0 >= e1) continue;
    if (from >= 0) {
      tasks.push(async () => {
        await self.ck.readFloat32(
          self.src.name,
          { start: from * cols + (e0 - r0 * cols), count: e1 - e0 },
          out.subarray(e0 - start, e1 - start),
        );
      });
    } else {
      tasks.push(async () => {
        const row = await fillRow(-1 - from);
        for (let e = e0; e < e1; ) {
          const c = e % cols;
          const len = Math.min(cols - c, e1 - e);
          out.set(row.subarray(c, c + len), e - start);
          e += len;
        }
      });
    }
  }
  await inParallel(tasks);
  return out;
}
