#!/usr/bin/env python3
"""Independent NumPy forward pass of a Hugging Face Qwen2 / Llama / Qwen3 causal LM (float64).

Reads <model>/config.json and the weights (model.safetensors, or the shards named by
model.safetensors.index.json) with the standard library (struct, json) and NumPy only, and prints the logits of
every position for the given token ids as JSON: {"logits": [[vocab floats] per position]}.

What it implements (transformers' modeling_qwen2 / modeling_llama / modeling_qwen3):
  h = embed_tokens[ids]
  per layer: h += o_proj(attn(rmsnorm(h))); h += down(silu(gate(x)) * up(x)), x = rmsnorm(h)
  attention: q/k/v projections (with biases when stored), Qwen3's per-head q_norm / k_norm when stored,
  RoPE (rotate_half form, rope_theta), grouped-query heads (kv head = head // (heads / kv_heads)),
  causal mask, softmax(q k^T / sqrt(head_dim)) v
  logits = lm_head(rmsnorm(h)), lm_head tied to embed_tokens when lm_head.weight is absent.

Usage: qwen2_forward.py MODEL_DIR IDS   (IDS: comma-separated token ids)
"""

import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": None}


def read_safetensors(path):
    """name -> float64 array, from one .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = body[start:end]
        dtype = info["dtype"]
        if dtype == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in DTYPES:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<"))
        else:
            raise SystemExit(f"{path}: {name} has dtype {dtype}, not a float type")
        out[name] = arr.astype(np.float64).reshape(info["shape"])
    return out


def read_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(model_dir, name)))
    return weights


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def forward(cfg, w, ids):
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    head_dim = cfg.get("head_dim") or hidden // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    layers = cfg["num_hidden_layers"]
    n = len(ids)

    def get(name):
        if name not in w:
            raise SystemExit(f"missing tensor {name}")
        return w[name]

    def linear(x, prefix):
        y = x @ get(prefix + ".weight").T
        if prefix + ".bias" in w:
            y = y + w[prefix + ".bias"]
        return y

    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    freqs = np.outer(np.arange(n, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)  # [n, head_dim]
    cos, sin = np.cos(emb), np.sin(emb)
    mask = np.triu(np.full((n, n), -np.inf), k=1)

    h = get("model.embed_tokens.weight")[np.asarray(ids)]
    for i in range(layers):
        p = f"model.layers.{i}"
        x = rms_norm(h, get(p + ".input_layernorm.weight"), eps)
        q = linear(x, p + ".self_attn.q_proj").reshape(n, heads, head_dim).transpose(1, 0, 2)
        k = linear(x, p + ".self_attn.k_proj").reshape(n, kv_heads, head_dim).transpose(1, 0, 2)
        v = linear(x, p + ".self_attn.v_proj").reshape(n, kv_heads, head_dim).transpose(1, 0, 2)
        if p + ".self_attn.q_norm.weight" in w:
            q = rms_norm(q, w[p + ".self_attn.q_norm.weight"], eps)
            k = rms_norm(k, get(p + ".self_attn.k_norm.weight"), eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = heads // kv_heads
        out = np.empty((heads, n, head_dim))
        for hd in range(heads):
            kv = hd // group
            s = q[hd] @ k[kv].T / np.sqrt(head_dim) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s = s / s.sum(axis=-1, keepdims=True)
            out[hd] = s @ v[kv]
        attn = out.transpose(1, 0, 2).reshape(n, heads * head_dim)
        h = h + linear(attn, p + ".self_attn.o_proj")
        x = rms_norm(h, get(p + ".post_attention_layernorm.weight"), eps)
        gate = linear(x, p + ".mlp.gate_proj")
        up = linear(x, p + ".mlp.up_proj")
        h = h + linear(gate / (1.0 + np.exp(-gate)) * up, p + ".mlp.down_proj")
    h = rms_norm(h, get("model.norm.weight"), eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else get("model.embed_tokens.weight")
    return h @ head.T


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: qwen2_forward.py MODEL_DIR IDS")
    model_dir = sys.argv[1]
    ids = [int(s) for s in sys.argv[2].split(",") if s.strip()]
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("hidden_act", "silu") != "silu":
        raise SystemExit(f"unsupported hidden_act {cfg['hidden_act']}")
    if cfg.get("use_sliding_window"):
        raise SystemExit("sliding-window attention is not implemented here")
    weights = read_weights(model_dir)
    stored = {int(k.split(".")[2]) for k in weights if k.startswith("model.layers.")}
    if stored != set(range(cfg["num_hidden_layers"])):
        raise SystemExit(
            f"config says {cfg['num_hidden_layers']} layers, the weights hold {sorted(stored)}"
        )
    logits = forward(cfg, weights, ids)
    json.dump({"logits": logits.tolist()}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
