#!/usr/bin/env python3
"""Extract the valid launch keys of the RL engines `m2rl export` writes jobs for, from the engines' own sources.

    python3 scripts/engine-keys/extract.py verl --git-dir <verl>/.git --rev b178a3cd \
        --out packages/cli/src/export/keys/verl-b178a3cd.json
    python3 scripts/engine-keys/extract.py openrlhf --git-dir <OpenRLHF>/.git --rev v0.11.0 \
        --out packages/cli/src/export/keys/openrlhf-v0.11.0.json

`--src <checkout>` reads a plain checkout instead of `--git-dir` + `--rev` (the revision is then `git rev-parse HEAD`
of that checkout when it is one, else the `--rev` given).

verl: the composed Hydra config `verl/trainer/config/_generated_ppo_trainer.yaml` (what `python3 -m
verl.trainer.main_ppo` starts from) flattened to dotted keys. A leaf is a scalar, a list, or an empty mapping
(`engine_kwargs.vllm: {}`); `key=value` is valid for exactly these keys, and `+key=value` for keys not in the list.
Mappings that are empty in the config (`emptyMappings`) are where `+key.sub=value` adds a field. Needs PyYAML (a verl
dependency).

OpenRLHF: the argparse parser of `openrlhf/cli/train_ppo_ray.py` (`python3 -m openrlhf.cli.train_ppo_ray`), built by
running the statements of its `if __name__ == "__main__":` block up to `parser.parse_args()` (standard library only:
the module's own imports of ray / torch are not needed for that). Each flag maps to the number of values it takes:
0 for a switch (store_true / store_false), 2 for `nargs=2`, -1 for `nargs="*"`, else 1.

The output is JSON, formatted the way the repository's formatter (Biome) leaves it, with the full commit named.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

VERL_CONFIG = "verl/trainer/config/_generated_ppo_trainer.yaml"
OPENRLHF_LAUNCHER = "openrlhf/cli/train_ppo_ray.py"


def read_source(args: argparse.Namespace, path: str) -> tuple[str, str]:
    """(file text, full commit) from a git dir at a revision, or from a checkout."""
    if args.git_dir:
        commit = subprocess.check_output(
            ["git", "--git-dir", args.git_dir, "rev-parse", f"{args.rev}^{{commit}}"], text=True
        ).strip()
        text = subprocess.check_output(["git", "--git-dir", args.git_dir, "show", f"{commit}:{path}"], text=True)
        return text, commit
    src = Path(args.src)
    text = (src / path).read_text(encoding="utf-8")
    try:
        commit = subprocess.check_output(["git", "-C", str(src), "rev-parse", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        commit = args.rev or "unknown"
    return text, commit


def flatten(node: object, prefix: str, keys: list[str], empty: list[str]) -> None:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), keys, empty)
        return
    keys.append(prefix)
    if isinstance(node, dict):
        empty.append(prefix)


def verl_keys(args: argparse.Namespace) -> dict:
    import yaml  # PyYAML: verl itself depends on it

    text, commit = read_source(args, VERL_CONFIG)
    config = yaml.safe_load(text)
    keys: list[str] = []
    empty: list[str] = []
    flatten(config, "", keys, empty)
    return {
        "engine": "verl",
        "repository": "https://github.com/volcengine/verl",
        "revision": args.rev,
        "commit": commit,
        "source": VERL_CONFIG,
        "launch": "python3 -m verl.trainer.main_ppo",
        "generatedBy": "scripts/engine-keys/extract.py",
        "keys": sorted(set(keys)),
        "emptyMappings": sorted(set(empty)),
    }


def openrlhf_parser(text: str) -> argparse.ArgumentParser:
    """The launcher's argparse parser: its imports (those that import), then its main block up to parse_args()."""
    tree = ast.parse(text)
    scope: dict = {"__name__": "m2rl_engine_keys"}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            try:
                exec(compile(ast.Module(body=[node], type_ignores=[]), "<imports>", "exec"), scope)
            except Exception:  # ray, torch, openrlhf: not needed to build the parser
                pass
    main = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and isinstance(n.test, ast.Compare) and ast.unparse(n.test) == "__name__ == '__main__'"
    )
    body = []
    for stmt in main.body:
        if "parse_args" in ast.unparse(stmt):
            break
        body.append(stmt)
    exec(compile(ast.Module(body=body, type_ignores=[]), OPENRLHF_LAUNCHER, "exec"), scope)
    return scope["parser"]


def openrlhf_keys(args: argparse.Namespace) -> dict:
    text, commit = read_source(args, OPENRLHF_LAUNCHER)
    parser = openrlhf_parser(text)
    flags: dict[str, int] = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.nargs == 0:
            arity = 0
        elif action.nargs == "*" or action.nargs == "+":
            arity = -1
        elif isinstance(action.nargs, int):
            arity = action.nargs
        else:
            arity = 1
        for option in action.option_strings:
            flags[option] = arity
    return {
        "engine": "openrlhf",
        "repository": "https://github.com/OpenRLHF/OpenRLHF",
        "revision": args.rev,
        "commit": commit,
        "source": OPENRLHF_LAUNCHER,
        "launch": "python3 -m openrlhf.cli.train_ppo_ray",
        "generatedBy": "scripts/engine-keys/extract.py",
        "flags": dict(sorted(flags.items())),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("engine", choices=["verl", "openrlhf"])
    p.add_argument("--git-dir", help="the engine's git directory (read at --rev)")
    p.add_argument("--src", help="a checkout of the engine (instead of --git-dir)")
    p.add_argument("--rev", help="revision: a commit or tag (required with --git-dir)")
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args()
    if bool(args.git_dir) == bool(args.src):
        p.error("give exactly one of --git-dir and --src")
    if args.git_dir and not args.rev:
        p.error("--git-dir needs --rev")
    data = verl_keys(args) if args.engine == "verl" else openrlhf_keys(args)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    count = len(data.get("keys") or data.get("flags"))
    print(f"{args.out}: {count} {'keys' if args.engine == 'verl' else 'flags'} of {data['engine']} {data['commit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
