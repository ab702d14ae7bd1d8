"""verl custom reward function backed by the M2RL reward service (`m2rl serve`).

Python standard library only. Point verl at it:

    custom_reward_function.path=/path/to/m2rl_reward.py
    custom_reward_function.name=compute_score

verl calls ``compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)`` once per
response; this posts the item to ``POST <M2RL_REWARD_URL>/verl/compute_score`` and returns a dict::

    {"score": float, "acc": float, "status": str, "domain": str, "extracted": str, "detail": str}

``score`` is the reward. Every key is present with a value of the same type for every item (a verifier that
extracted nothing gives ``""``, never ``None``): verl collects each key across the batch and averages the numeric
ones in its validation metrics, where a ``None`` breaks the aggregation. ``acc`` is 1.0 when the status is
``correct``, else 0.0.

An unknown ``data_source`` (one the service maps to no domain, and no ``extra_info.domain``) RAISES
``UnknownDataSourceError`` (a ``NotImplementedError``, as verl's own ``default_compute_score`` raises for a source it
does not know): grading it as some default domain, or as 0, would train on rewards of the wrong verifier. An item the
service can route but not grade (a malformed ground truth, ...) comes back with score 0.0 and status ``error``; the
first such item per ``data_source`` is logged as a warning with the service's message.

Settings (environment variables; a ``reward_kwargs`` entry of the same lower-case name without the ``M2RL_REWARD_``
prefix, e.g. ``custom_reward_function.reward_kwargs.url=...``, overrides the variable):

    M2RL_REWARD_URL      base URL of the service (default http://127.0.0.1:8000), or the full
                         .../verl/compute_score URL
    M2RL_REWARD_TOKEN    bearer token (default: M2RL_SERVE_TOKEN, the variable `m2rl serve` reads)
    M2RL_REWARD_TIMEOUT  seconds per HTTP request (default 330: the service answers by its own 300 s deadline)
    M2RL_REWARD_RETRIES  extra attempts after a transport failure, HTTP 429 or 5xx (default 3; back-off 1, 2, 4 s)

The keyword arguments verl's own reward loop passes to every reward function (``reward_router_address``,
``reward_model_tokenizer``, and ``sandbox_fusion_url``, ``concurrent_semaphore``, ``memory_limit_mb`` of
``default_compute_score``) are accepted and unused: the service grades with its own verifiers and sandbox. A
malformed setting or any other keyword argument raises ``ValueError`` / ``TypeError`` instead of being ignored.

Transport failures RAISE (``RewardServiceError``) once the retries are spent, as does any other 4xx (a bad token,
a malformed request, an unknown ``extra_info.domain``). Returning 0.0 instead would hand the trainer a batch of
false "wrong answer" rewards while the service is down, and the policy would be trained on them; a stopped run
is visible and can be resumed from its last checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

__all__ = ["compute_score", "RewardServiceError", "UnknownDataSourceError"]

log = logging.getLogger("m2rl_reward")

_DEFAULT_URL = "http://127.0.0.1:8000"
_ROUTE = "/verl/compute_score"
_KWARGS = ("url", "token", "timeout", "retries")
_VERL_KWARGS = (
    "reward_router_address",
    "reward_model_tokenizer",
    "sandbox_fusion_url",
    "concurrent_semaphore",
    "memory_limit_mb",
)
_warned: set[str] = set()


class RewardServiceError(RuntimeError):
    """The M2RL reward service could not be reached, or refused the request."""


class UnknownDataSourceError(RewardServiceError, NotImplementedError):
    """The service maps the item's ``data_source`` to no domain: nothing can grade it."""


def _setting(kwargs: dict[str, Any], name: str) -> str | None:
    if kwargs.get(name) is not None:
        return str(kwargs[name])
    value = os.environ.get(f"M2RL_REWARD_{name.upper()}")
    if value is None and name == "token":
        value = os.environ.get("M2RL_SERVE_TOKEN")
    return value if value not in (None, "") else None


def _number(kwargs: dict[str, Any], name: str, default: float, *, integer: bool) -> float:
    raw = _setting(kwargs, name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValueError(f"M2RL_REWARD_{name.upper()}={raw!r} is not a number") from None
    if value < 0 or (not integer and value == 0):
        raise ValueError(f"M2RL_REWARD_{name.upper()}={raw!r} must be {'>= 0' if integer else '> 0'}")
    return value


def _endpoint(kwargs: dict[str, Any]) -> str:
    url = (_setting(kwargs, "url") or _DEFAULT_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"M2RL_REWARD_URL={url!r} is not an http(s) URL")
    return url if url.endswith(_ROUTE) else url + _ROUTE


def _jsonable(value: Any) -> Any:
    """json.dumps fallback for what verl's parquet rows hold: numpy arrays and scalars, bytes."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} to the reward service")


def _post(url: str, body: bytes, token: str | None, timeout: float, retries: int) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 30))
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text
            last = f"HTTP {e.code} from {url}: {message}"
            if e.code != 429 and e.code < 500:
                raise RewardServiceError(last) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = f"cannot reach the M2RL reward service at {url}: {getattr(e, 'reason', e)}"
        log.warning("%s (attempt %d of %d)", last, attempt + 1, retries + 1)
    raise RewardServiceError(last)


def compute_score(
    data_source: Any = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's compute_score, graded by the M2RL reward service. See the module docstring."""
    unknown = sorted(set(kwargs) - set(_KWARGS) - set(_VERL_KWARGS))
    if unknown:
        raise TypeError(
            f"m2rl_reward.compute_score: unknown keyword arguments {unknown}; settings: {list(_KWARGS)}, "
            f"accepted from verl and unused: {list(_VERL_KWARGS)}"
        )
    url = _endpoint(kwargs)
    timeout = _number(kwargs, "timeout", 330.0, integer=False)
    retries = int(_number(kwargs, "retries", 3, integer=True))
    item: dict[str, Any] = {"solution_str": solution_str, "ground_truth": ground_truth}
    if data_source is not None:
        item["data_source"] = str(data_source)
    if extra_info is not None:
        item["extra_info"] = extra_info
    body = json.dumps({"items": [item]}, default=_jsonable).encode("utf-8")
    reply = _post(url, body, _setting(kwargs, "token"), timeout, retries)
    try:
        result = reply["results"][0]
        score = float(result["score"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise RewardServiceError(f"unexpected reply from {url}: {json.dumps(reply)[:300]}") from None
    status = str(result.get("status") or "error")
    if status == "error" and result.get("domain") is None:
        # the service names no domain for a data_source it could not map (POST /verl/compute_score)
        raise UnknownDataSourceError(
            f"m2rl reward service: unknown data_source {data_source!r}: {result.get('detail') or 'not mapped'}"
        )
    out = {
        "score": score,
        "acc": 1.0 if status == "correct" else 0.0,
        "status": status,
        "domain": str(result.get("domain") or ""),
        "extracted": "" if result.get("extracted") is None else str(result["extracted"]),
        "detail": "" if result.get("detail") is None else str(result["detail"]),
    }
    if status == "error" and str(data_source) not in _warned:
        _warned.add(str(data_source))
        log.warning("m2rl reward service: %s item not graded: %s", data_source, out["detail"])
    return out
