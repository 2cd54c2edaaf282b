#!/usr/bin/env bash
# Re-resolve ops/requirements.lock, test the result in a fresh virtual environment, and write
# the new lock only when the whole suite passes with it.
#
#   bash ops/upgrade-deps.sh          # every package to its newest release
#   bash ops/upgrade-deps.sh --keep   # keep the locked versions; only add what pyproject.toml
#                                     # now asks for (a new dependency, a raised lower bound)
#
# Needs PostgreSQL and Redis as the suite does (.ci/run starts them). Extra arguments after
# the mode go to pytest. Prints what changed; the lock is left alone on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--upgrade
if [ "${1:-}" = "--keep" ]; then mode=""; shift; fi

command -v uv >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check uv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp ops/requirements.lock "$work/requirements.lock"  # uv keeps these pins unless --upgrade
uv pip compile pyproject.toml ops/requirements.in --extra test --generate-hashes \
  --python-version 3.11 --python-platform linux --custom-compile-command "bash ops/upgrade-deps.sh" \
  ${mode} -q -o "$work/requirements.lock"

echo "== changes against ops/requirements.lock"
diff <(grep -E '^[A-Za-z0-9]' ops/requirements.lock) \
     <(grep -E '^[A-Za-z0-9]' "$work/requirements.lock") || true

python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
pip=(python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes -r "$work/requirements.lock"
"${pip[@]}" --no-deps --no-build-isolation -e .
python -m ruff check .
python -m mypy
python -m pytest -q -p no:cacheprovider "$@"
deactivate

cp "$work/requirements.lock" ops/requirements.lock
echo "ops/requirements.lock updated: reinstall with bash ops/install.sh, then commit it"
