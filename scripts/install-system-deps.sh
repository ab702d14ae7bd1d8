#!/usr/bin/env bash
# Debian packages M2RL uses. All optional at run time (M2RL falls back and says so), all needed for the full test
# suite: libopenblas-dev (native matmul kernel pack), bubblewrap (code-verifier sandbox), python3 (sandboxed
# Python programs), python3-numpy (the NumPy reference merger the merge parity test runs), chromium (the analysis
# report's headless-browser test).
set -euo pipefail
pkgs=(libopenblas-dev bubblewrap python3 python3-numpy make g++ chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages present: ${pkgs[*]}"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
