"""OpenRLHF reward function for a mixed-domain M2RL arm (written by `m2rl export --engine openrlhf`).

OpenRLHF v0.11 loads it with ``--reward.remote_url <this file>`` (openrlhf/utils/agent.py SingleTurnAgentExecutor:
a ``remote_url`` ending in ``.py`` is imported and ``reward_func(queries, prompts, labels)`` is called, one item at a
time). It forwards each item to the OpenRLHF route of ``m2rl serve`` (``POST <M2RL_REWARD_URL>/reward``) with the
item's domain: OpenRLHF's own HTTP call sends only ``{query, prompts, labels}``, and a mixed arm's prompts come from
several domains, so the exported label carries the domain: ``{"domain": <verifier>, "ground_truth": <text>}`` as
JSON. Single-domain arms need none of this: their ``--reward.remote_url`` is ``<M2RL_REWARD_URL>/reward/<domain>``.

Python standard library only. Settings (environment): ``M2RL_REWARD_URL`` (default http://127.0.0.1:8000),
``M2RL_REWARD_TOKEN`` (default ``M2RL_SERVE_TOKEN``), ``M2RL_REWARD_TIMEOUT`` (seconds, default 330),
``M2RL_REWARD_RETRIES`` (default 3; back-off 1, 2, 4 s). An unreachable service or a refused request raises: a
batch of false 0 rewards would be trained on otherwise.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

__all__ = ["reward_func", "RewardServiceError"]


class RewardServiceError(RuntimeError):
    """The M2RL reward service could not be reached, or refused the request."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _label(raw: Any) -> tuple[str, Any]:
    try:
        label = json.loads(raw) if isinstance(raw, str) else raw
        return str(label["domain"]), label["ground_truth"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f'an exported label is {{"domain": ..., "ground_truth": ...}} as JSON, got {raw!r:.200}') from None


def _post(body: dict[str, Any]) -> dict[str, Any]:
    url = (_env("M2RL_REWARD_URL", "http://127.0.0.1:8000") or "").rstrip("/") + "/reward"
    token = _env("M2RL_REWARD_TOKEN") or _env("M2RL_SERVE_TOKEN")
    timeout = float(_env("M2RL_REWARD_TIMEOUT", "330") or 330)
    retries = int(_env("M2RL_REWARD_RETRIES", "3") or 3)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode("utf-8")
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 30))
        try:
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code} from {url}: {e.read().decode('utf-8', 'replace')[:300]}"
            if e.code != 429 and e.code < 500:
                raise RewardServiceError(last) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = f"cannot reach the M2RL reward service at {url}: {getattr(e, 'reason', e)}"
    raise RewardServiceError(last)


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF's reward_func: {rewards, scores, extra_logs} from m2rl serve, each item graded by its domain."""
    parsed = [_label(x) for x in labels]
    reply = _post(
        {
            "query": list(queries),
            "prompts": list(prompts),
            "labels": [gt for _, gt in parsed],
            "metas": [{"domain": d} for d, _ in parsed],
        }
    )
    return {"rewards": reply["rewards"], "scores": reply["scores"], "extra_logs": reply.get("extra_logs", {})}
