"""M2RL's `adaptive` mixing scheduler as a verl curriculum sampler (written by `m2rl export --engine verl`).

verl loads it with ``data.sampler.class_path=<this file>`` and ``data.sampler.class_name=M2RLAdaptiveSampler``
(``verl/trainer/main_ppo.py`` ``create_rl_sampler``; verl requires ``data.dataloader_num_workers=0`` for a curriculum
sampler), and calls ``update(batch)`` after every training step (``verl/trainer/ppo/ray_trainer.py``). The train
Parquet file holds each domain's train tasks, domain after domain, in the order M2RL's trainer loads them; the plan
(``mix_plan.json``, named by ``data.sampler.plan`` or found next to this file) gives each domain's rows, the arm seed
and the scheduler's options.

The rule is the one of ``packages/core/src/schedulers/adaptive.ts`` and the draw the one of M2RL's trainer
(``packages/core/src/trainer/trainer.ts``), so that for the same rewards this sampler yields the same prompts, in the
same order, as ``m2rl run`` would train on:

- each step, the domains of its ``promptsPerStep`` prompts are drawn i.i.d. from
  p = (1 - ε)·softmax(s / τ) + ε/D, with s_d = 1 - r̄_d (``low-reward``) or |r̄_d - r̃_d| (``learning-progress``),
  on the scheduler's own random stream (seed ``Rng.derive(armSeed, "scheduler").nextUint32()``);
- each prompt of domain d is the next task of that domain's order: its tasks shuffled per epoch with
  ``Rng.derive(armSeed, "data:<d>:<epoch>")``;
- after the step, each domain's r̄ ← (1 - α)·r̄ + α·r and r̃ ← (1 - α_s)·r̃ + α_s·r, r = the mean reward of the
  step's samples of that domain (all of them), read from ``token_level_scores`` (the verifier's reward plus any
  shaping term, as M2RL's reward) or the reward function's ``score``.

The sampler is stateful (``state_dict`` / ``load_state_dict``: the rule's random stream and averages, each domain's
cursor, the step): verl checkpoints its dataloader, and torchdata's StatefulDataLoader stores a stateful sampler's
state and, on resume, restores it and iterates afresh (``_BatchSamplerIterator`` in
torchdata/stateful_dataloader/sampler.py), so a resumed run continues the same draw.

Python standard library only, and no verl import is needed to run the rule: M2RL's Rng (xoshiro128**, seeded through
splitmix32, FNV-1a string seeds) and V8's ``Math.exp`` (fdlibm's ``__ieee754_exp``) are ported here bit for bit, so
the probabilities are the same doubles as in TypeScript. Under verl the class derives from verl's
``AbstractCurriculumSampler`` (``verl/experimental/dataset/sampler.py``), as ``create_rl_sampler`` asserts.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Iterator

try:  # under verl: the base class create_rl_sampler checks for
    from verl.experimental.dataset.sampler import AbstractCurriculumSampler as _Base
except Exception:  # verl not installed (tests, inspection): the rule runs the same
    _Base = object

__all__ = ["M2RLAdaptiveSampler", "AdaptiveRule", "Rng", "hash_string", "js_exp"]

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M32


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


def hash_string(s: str) -> int:
    """32-bit FNV-1a over the UTF-16 code units of s, avalanche-mixed (core/src/rng/rng.ts hashString)."""
    h = 0x811C9DC5
    units = s.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h ^= units[i] | (units[i + 1] << 8)
        h = _imul(h, 0x01000193)
    h ^= h >> 16
    h = _imul(h, 0x7FEB352D)
    h ^= h >> 15
    h = _imul(h, 0x846CA68B)
    h ^= h >> 16
    return h


class Rng:
    """M2RL's Rng (core/src/rng/rng.ts): xoshiro128**, seeded through splitmix32."""

    def __init__(self, seed: int | str | list[int]):
        if isinstance(seed, (list, tuple)):
            self.s = [x & _M32 for x in seed]
        else:
            if isinstance(seed, str):
                x = hash_string(seed)
            else:
                x = ((seed & _M32) ^ ((seed // 4294967296) & _M32)) & _M32
            s = []
            for _ in range(4):
                x = (x + 0x9E3779B9) & _M32
                z = x
                z = _imul(z ^ (z >> 16), 0x85EBCA6B)
                z = _imul(z ^ (z >> 13), 0xC2B2AE35)
                s.append((z ^ (z >> 16)) & _M32)
            self.s = s
        if (self.s[0] | self.s[1] | self.s[2] | self.s[3]) == 0:
            self.s[0] = 1

    @staticmethod
    def derive(seed: int, key: str) -> "Rng":
        return Rng(f"{seed & _M32}:{key}")

    def next_uint32(self) -> int:
        s0, s1, s2, s3 = self.s
        result = _imul(_rotl(_imul(s1, 5), 7), 9)
        t = (s1 << 9) & _M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next(self) -> float:
        return self.next_uint32() / 4294967296.0

    def int(self, n: int) -> int:
        limit = 4294967296 - (4294967296 % n)
        while True:
            x = self.next_uint32()
            if x < limit:
                return x % n

    def shuffle(self, items: list) -> list:
        for i in range(len(items) - 1, 0, -1):
            j = self.int(i + 1)
            items[i], items[j] = items[j], items[i]
        return items

    def categorical(self, weights: list[float]) -> int:
        total = 0.0
        for w in weights:
            total += w
        u = self.next() * total
        for i, w in enumerate(weights):
            u -= w
            if u < 0:
                return i
        return len(weights) - 1

    def get_state(self) -> list[int]:
        return list(self.s)


# V8's Math.exp is fdlibm's __ieee754_exp (src/base/ieee754.cc); math.exp (the C library's) may differ in the last
# bit, so the softmax would not give the same doubles. The port keeps the operation order of the C code.
_LN2HI = (6.93147180369123816490e-01, -6.93147180369123816490e-01)
_LN2LO = (1.90821492927058770002e-10, -1.90821492927058770002e-10)
_HALF = (0.5, -0.5)
_INVLN2 = 1.44269504088896338700e00
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
_E = 2.718281828459045
_TWOM1000 = 9.33263618503218878990e-302
_TWO1023 = 8.988465674311579539e307


def _high_word(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0] >> 32


def _from_high_word(hi: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", (hi & _M32) << 32))[0]


def js_exp(x: float) -> float:
    """Math.exp(x) as V8 computes it (fdlibm e_exp.c)."""
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    hx = bits >> 32
    xsb = (hx >> 31) & 1
    hx &= 0x7FFFFFFF
    hi = lo = 0.0
    k = 0
    if hx >= 0x40862E42:
        if hx >= 0x7FF00000:
            if ((hx & 0xFFFFF) | (bits & _M32)) != 0:
                return x + x
            return x if xsb == 0 else 0.0
        if x > 7.09782712893383973096e02:
            return float("inf")
        if x < -7.45133219101941108420e02:
            return 0.0
    if hx > 0x3FD62E42:
        if hx < 0x3FF0A2B2:
            if x == 1.0:
                return _E
            hi = x - _LN2HI[xsb]
            lo = _LN2LO[xsb]
            k = 1 - xsb - xsb
        else:
            k = int(_INVLN2 * x + _HALF[xsb])
            t = float(k)
            hi = x - t * _LN2HI[0]
            lo = t * _LN2LO[0]
        x = hi - lo
    elif hx < 0x3E300000:
        if 1.0e300 + x > 1.0:
            return 1.0 + x
    else:
        k = 0
    t = x * x
    twopk = _from_high_word(0x3FF00000 + (k << 20)) if k >= -1021 else _from_high_word(0x3FF00000 + ((k + 1000) << 20))
    c = x - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    if k == 0:
        return 1.0 - ((x * c) / (c - 2.0) - x)
    y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi)
    if k >= -1021:
        if k == 1024:
            return y * 2.0 * _TWO1023
        return y * twopk
    return y * twopk * _TWOM1000


def softmax_with_floor(scores: list[float], tau: float, floor: float) -> list[float]:
    """p = (1 - ε)·softmax(s/τ) + ε/D (core/src/schedulers/adaptive.ts softmaxWithFloor)."""
    z = [x / tau for x in scores]
    m = max(z)
    e = [js_exp(x - m) for x in z]
    s = 0.0
    for x in e:
        s += x
    return [(1 - floor) * (x / s) + floor / len(scores) for x in e]


class AdaptiveRule:
    """core/src/schedulers/adaptive.ts AdaptiveScheduler: EMA rewards per domain → softmax with a uniform floor."""

    def __init__(self, domains: list[str], options: dict[str, Any], seed: int):
        self.domains = list(domains)
        self.alpha = float(options["alpha"])
        self.tau = float(options["tau"])
        self.floor = float(options["floor"])
        self.signal = options["signal"]
        self.slow_alpha = float(options["slowAlpha"])
        self.rng = Rng(seed)
        self.ema = [float(options["initialReward"])] * len(self.domains)
        self.slow = [float(options["initialReward"])] * len(self.domains)

    def probs(self) -> list[float]:
        if self.signal == "learning-progress":
            return softmax_with_floor([abs(r - s) for r, s in zip(self.ema, self.slow)], self.tau, self.floor)
        return softmax_with_floor([1 - r for r in self.ema], self.tau, self.floor)

    def next(self, count: int) -> list[str]:
        p = self.probs()
        return [self.domains[self.rng.categorical(p)] for _ in range(count)]

    def observe(self, feedback: list[tuple[str, float, int]]) -> None:
        for domain, mean_reward, samples in feedback:
            if domain not in self.domains or samples == 0:
                continue
            i = self.domains.index(domain)
            self.ema[i] = (1 - self.alpha) * self.ema[i] + self.alpha * mean_reward
            self.slow[i] = (1 - self.slow_alpha) * self.slow[i] + self.slow_alpha * mean_reward

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state(), "ema": list(self.ema), "slow": list(self.slow)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.rng = Rng(list(state["rng"]))
        self.ema = [float(x) for x in state["ema"]]
        self.slow = [float(x) for x in state.get("slow", state["ema"])]


def _plan_path(data_config: Any) -> str:
    sampler = data_config.get("sampler") if hasattr(data_config, "get") else None
    path = sampler.get("plan") if sampler is not None and hasattr(sampler, "get") else None
    return str(path or os.environ.get("M2RL_MIX_PLAN") or os.path.join(os.path.dirname(__file__), "mix_plan.json"))


def _as_list(values: Any) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


class M2RLAdaptiveSampler(_Base):
    """Yields dataset row indices, one step (promptsPerStep rows) at a time, as M2RL's trainer would draw them."""

    def __init__(self, data_source: Any = None, data_config: Any = None, plan: dict[str, Any] | None = None):
        if plan is None:
            with open(_plan_path(data_config or {}), encoding="utf-8") as f:
                plan = json.load(f)
        self.plan = plan
        self.batch = int(plan["promptsPerStep"])
        self.steps = int(plan["steps"])
        if data_config is not None and hasattr(data_config, "get"):
            size = data_config.get("train_batch_size")
            if size is not None and int(size) != self.batch:
                raise ValueError(f"data.train_batch_size={size} but the M2RL plan draws {self.batch} prompts a step")
        self.domains = [d["name"] for d in plan["domains"]]
        self.rows = {d["name"]: list(range(d["offset"], d["offset"] + d["size"])) for d in plan["domains"]}
        if data_source is not None and hasattr(data_source, "__len__"):
            total = sum(len(r) for r in self.rows.values())
            if len(data_source) != total:
                raise ValueError(f"the train file has {len(data_source)} rows, the M2RL plan {total}")
        self.arm_seed = int(plan["armSeed"])
        scheduler_seed = Rng.derive(self.arm_seed, "scheduler").next_uint32()
        self.rule = AdaptiveRule(self.domains, plan["options"], scheduler_seed)
        self.cursors = {d: [0, 0] for d in self.domains}  # [epoch, pos]
        self.orders: dict[str, tuple[int, list[int]]] = {}
        self.step = 0
        self.position: dict[int, int] = {}  # row → its first place in the last step drawn

    def _next_row(self, domain: str) -> int:
        rows = self.rows[domain]
        cur = self.cursors[domain]
        if cur[1] >= len(rows):
            cur[0] += 1
            cur[1] = 0
        cached = self.orders.get(domain)
        if cached is None or cached[0] != cur[0]:
            order = Rng.derive(self.arm_seed, f"data:{domain}:{cur[0]}").shuffle(list(range(len(rows))))
            cached = (cur[0], order)
            self.orders[domain] = cached
        row = rows[cached[1][cur[1]]]
        cur[1] += 1
        return row

    def next_step(self) -> list[int]:
        """The rows of the next step (what __iter__ yields for it)."""
        rows = [self._next_row(d) for d in self.rule.next(self.batch)]
        self.position = {}
        for i, row in enumerate(rows):
            self.position.setdefault(row, i)
        self.step += 1
        return rows

    def __iter__(self) -> Iterator[int]:
        while self.step < self.steps:
            yield from self.next_step()

    def __len__(self) -> int:
        return self.steps * self.batch

    def feedback(self, batch: Any) -> list[tuple[str, float, int]]:
        """Per-domain (domain, mean reward, samples) of a trained batch, as M2RL's trainer reports them."""
        nt = batch.non_tensor_batch
        sources = _as_list(nt["data_source"])
        scores = None
        tensors = getattr(batch, "batch", None)
        if tensors is not None and "token_level_scores" in tensors:
            scores = _as_list(tensors["token_level_scores"].sum(-1))
        elif "score" in nt:
            scores = _as_list(nt["score"])
        if scores is None:
            raise ValueError("the batch holds neither token_level_scores nor a 'score' from the reward function")
        extra = _as_list(nt["extra_info"]) if "extra_info" in nt else [None] * len(sources)

        def drawn_at(i: int) -> int:
            # M2RL sums a domain's rewards in draw order (exact in any order for 0/1 rewards): extra_info.index is
            # the sample's file row, whose place in the step this sampler remembers; verl may regroup the batch
            info = extra[i] if isinstance(extra[i], dict) else {}
            return self.position.get(int(info.get("index", -1)), len(sources))

        keyed = sorted(range(len(sources)), key=drawn_at)
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for i in keyed:
            d = str(sources[i])
            sums[d] = sums.get(d, 0.0) + float(scores[i])
            counts[d] = counts.get(d, 0) + 1
        return [(d, sums[d] / counts[d], counts[d]) for d in sums]

    def update(self, batch: Any) -> None:
        self.rule.observe(self.feedback(batch))

    def state_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.state(), "cursors": self.cursors, "step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rule.set_state(state["rule"])
        self.cursors = {d: list(c) for d, c in state["cursors"].items()}
        self.orders = {}
        self.step = int(state["step"])
