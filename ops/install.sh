#!/usr/bin/env bash
# Install what reportd needs on a fresh Debian machine: Chromium and fonts from Debian (never a
# browser download), then the exact Python packages the suite passed with (ops/requirements.lock,
# hashes checked) and reportd itself on top of them. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_apt+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The lock, not pyproject.toml's ranges: a new machine gets what was tested, whatever was
# released since. To move to newer releases, run ops/upgrade-deps.sh (docs/OPERATIONS.md).
pip=(python3 -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes -r ops/requirements.lock
"${pip[@]}" --no-deps --no-build-isolation -e .
