"""Golden fixtures for the policy model: small random Llama/Qwen2/Qwen3-config checkpoints and their logits and
gradients, computed by an independent float64 PyTorch implementation written from the Hugging Face modelling code's
equations (not from M2RL's code). Writes fixtures/<name>/{config.json, model.safetensors (or shards + index),
expected.json}. Safetensors is written by hand (8-byte little-endian header length, JSON header, raw data).
Run: /usr/bin/python3 packages/core/test/golden/make_golden.py   (needs torch; the outputs are committed)."""
import json, math, os, struct
import torch

torch.manual_seed(1234)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

CASES = [
    # name, config, sharded
    ("qwen2_gqa_tied", dict(model_type="qwen2", vocab_size=40, hidden_size=16, intermediate_size=24,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                            tie_word_embeddings=True, eos_token_id=1), False),
    ("qwen2_mqa_untied", dict(model_type="qwen2", vocab_size=48, hidden_size=24, intermediate_size=40,
                              num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=1,
                              max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=1000000.0,
                              tie_word_embeddings=False, eos_token_id=[1, 2]), True),
    ("llama_headdim_untied", dict(model_type="llama", vocab_size=36, hidden_size=16, intermediate_size=32,
                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=6,
                                  max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=500.0,
                                  tie_word_embeddings=False, attention_bias=False), False),
    ("qwen3_qknorm_tied", dict(model_type="qwen3", vocab_size=40, hidden_size=16, intermediate_size=24,
                               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                               max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                               tie_word_embeddings=True, attention_bias=False), False),
]


def shapes(c):
    d, hd = c["hidden_size"], c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    H, KV, I, V = c["num_attention_heads"], c["num_key_value_heads"], c["intermediate_size"], c["vocab_size"]
    bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
    s = {"model.embed_tokens.weight": [V, d]}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}"
        s[f"{p}.input_layernorm.weight"] = [d]
        s[f"{p}.self_attn.q_proj.weight"] = [H * hd, d]
        s[f"{p}.self_attn.k_proj.weight"] = [KV * hd, d]
        s[f"{p}.self_attn.v_proj.weight"] = [KV * hd, d]
        if bias:
            s[f"{p}.self_attn.q_proj.bias"] = [H * hd]
            s[f"{p}.self_attn.k_proj.bias"] = [KV * hd]
            s[f"{p}.self_attn.v_proj.bias"] = [KV * hd]
        if c["model_type"] == "qwen3":
            s[f"{p}.self_attn.q_norm.weight"] = [hd]
            s[f"{p}.self_attn.k_norm.weight"] = [hd]
        s[f"{p}.self_attn.o_proj.weight"] = [d, H * hd]
        s[f"{p}.post_attention_layernorm.weight"] = [d]
        s[f"{p}.mlp.gate_proj.weight"] = [I, d]
        s[f"{p}.mlp.up_proj.weight"] = [I, d]
        s[f"{p}.mlp.down_proj.weight"] = [d, I]
    s["model.norm.weight"] = [d]
    if not c["tie_word_embeddings"]:
        s["lm_head.weight"] = [V, d]
    return s, hd, bias


def random_weights(c):
    s, _, _ = shapes(c)
    W = {}
    for n, shp in s.items():
        if n.endswith("norm.weight"):
            t = 1.0 + 0.2 * torch.randn(shp)
        elif n.endswith(".bias"):
            t = 0.2 * torch.randn(shp)
        else:
            t = torch.randn(shp) / math.sqrt(shp[-1]) * 1.5
        W[n] = t.float()  # stored as f32; the reference computes in f64 from these exact values
    return W


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def forward(c, W, ids):
    """Logits [T, V] of one sequence, float64, positions 0..T-1."""
    s, hd, bias = shapes(c)
    eps, H, KV = c["rms_norm_eps"], c["num_attention_heads"], c["num_key_value_heads"]
    G, T = H // KV, len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, W[p + "input_layernorm.weight"], eps)
        def proj(n):
            y = h @ W[p + f"self_attn.{n}_proj.weight"].T
            return y + W[p + f"self_attn.{n}_proj.bias"] if bias else y
        q = proj("q").view(T, H, hd).transpose(0, 1)
        k = proj("k").view(T, KV, hd).transpose(0, 1)
        v = proj("v").view(T, KV, hd).transpose(0, 1)
        if c["model_type"] == "qwen3":
            q = rms(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(G, 0)
        v = v.repeat_interleave(G, 0)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = att.masked_fill(causal, float("-inf")).softmax(-1)
        a = (att @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h2 = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h2 @ W[p + "mlp.gate_proj.weight"].T
        u = h2 @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def st_bytes(tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for n, t in tensors.items():
        b = t.contiguous().numpy().astype("<f4").tobytes()
        header[n] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def main():
    for name, cfg, sharded in CASES:
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
        W = random_weights(cfg)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"architectures": ["X"], "hidden_act": "silu", **cfg}, f, indent=2)
        if sharded:
            names = list(W)
            half = len(names) // 2
            parts = [names[:half], names[half:]]
            wm = {}
            for i, part in enumerate(parts):
                fn = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
                with open(os.path.join(d, fn), "wb") as f:
                    f.write(st_bytes({n: W[n] for n in part}))
                for n in part:
                    wm[n] = fn
            total = sum(t.numel() * 4 for t in W.values())
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
        else:
            with open(os.path.join(d, "model.safetensors"), "wb") as f:
                f.write(st_bytes(W))
        W64 = {n: t.double().requires_grad_(True) for n, t in W.items()}
        V = cfg["vocab_size"]
        g = torch.Generator().manual_seed(7)
        seqs = [torch.randint(0, V, (n,), generator=g).tolist() for n in (7, 4, 1, 9)]
        logits = [forward(cfg, W64, s) for s in seqs]
        # Gradient of a scalar made of completion log-probs (what score() feeds the trainer):
        # L = Σ_pairs Σ_j (j + 1) · log p(completion_j | prefix), prompt = first `pl` tokens.
        pairs = [(seqs[0], 3), (seqs[1], 1), (seqs[3], 5)]
        loss = 0
        for (s, pl) in pairs:
            lp = torch.log_softmax(forward(cfg, W64, s), -1)
            for j, tok in enumerate(s[pl:]):
                loss = loss + (j + 1) * lp[pl - 1 + j, tok]
        loss.backward()
        grad_names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                      "model.layers.0.self_attn.k_proj.weight", "model.layers.1.self_attn.v_proj.weight",
                      "model.layers.0.input_layernorm.weight", "model.layers.1.mlp.down_proj.weight",
                      "model.norm.weight"]
        grad_names += [n for n in W if n.endswith("q_proj.bias") or n.endswith("k_norm.weight") or n == "lm_head.weight"]
        expected = {
            "sequences": seqs,
            "logits": [l.detach().tolist() for l in logits],
            "pairs": [{"promptIds": s[:pl], "completionIds": s[pl:]} for (s, pl) in pairs],
            "loss": loss.item(),
            "grads": {n: W64[n].grad.flatten().tolist() for n in grad_names},
        }
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(name, sum(t.numel() for t in W.values()), "params")


if __name__ == "__main__":
    main()
