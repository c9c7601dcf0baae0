#!/usr/bin/env bash
# Install everything and run the whole suite: lint, types, tests on PostgreSQL and SQLite, browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements-dev.lock
.venv/bin/pip install -q --no-deps -e .
# Browser tests drive Debian's Chromium; CJK fonts so screenshots show Chinese, not boxes.
if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
.venv/bin/ruff check src benchmarks
.venv/bin/mypy src
.venv/bin/lint-imports --no-cache  # the apps depend downward only (contract in pyproject.toml)
SAFETYNET_DATA_DIR="$(mktemp -d)"
export SAFETYNET_DATA_DIR
echo "== tests on PostgreSQL (browser tests included)"
SAFETYNET_DATABASE_URL="${SAFETYNET_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}" \
  .venv/bin/pytest -q -p no:cacheprovider
echo "== tests on SQLite (browser and process-level tests ran above: they do not depend on the database)"
SAFETYNET_DATABASE_URL="sqlite:///$SAFETYNET_DATA_DIR/test.sqlite3" \
  .venv/bin/pytest -q -p no:cacheprovider -m "not browser and not slow"
