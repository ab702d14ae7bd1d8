/** Where a Hugging Face (Llama / Qwen2 layout) tensor sits: its layer and its module type. */

export type ModuleType =
  | "q"
  | "k"
  | "v"
  | "o"
  | "gate"
  | "up"
  | "down"
  | "embed"
  | "lm_head"
  | "norm"
  | "other";

export const MODULE_TYPES: readonly ModuleType[] = [
  "embed",
  "q",
  "k",
  "v",
  "o",
  "gate",
  "up",
  "down",
  "norm",
  "lm_head",
  "other",
];

/** Module type from a tensor name (`model.layers.3.self_attn.q_proj.weight` → "q"). */
export function moduleType(name: string): ModuleType {
  const m = /(?:^|\.)(q|k|v|o|gate|up|down)_proj\./.exec(name);
  if (m) return m[1] as ModuleType;
  if (/embed_tokens|wte|word_embeddings/.test(name)) return "embed";
  if (/lm_head/.test(name)) return "lm_head";
  if (/norm|ln_/.test(name)) return "norm";
  return "other";
}

/** Layer index (`model.layers.12.` → 12), or null for tensors outside the layer stack. */
export function layerIndex(name: string): number | null {
  const m = /(?:^|\.)(?:layers|h|blocks)\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}
