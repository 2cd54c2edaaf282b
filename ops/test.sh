#!/usr/bin/env bash
# The test command: lint, types, then the whole suite (storage tests run on SQLite and on
# PostgreSQL; Redis, Chromium and SMTP tests use the real thing). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m ruff check .
python3 -m mypy
python3 -m pytest "$@"
