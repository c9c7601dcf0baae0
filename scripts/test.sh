#!/usr/bin/env bash
# Install everything and run the whole suite: lint, types, tests on PostgreSQL and SQLite, browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements-dev.lock
.venv/bin/pip install -q --no-deps -e .
# Browser tests drive Debian's Chromium; CJK fonts so screenshots show Chinese, not boxes; the letter
# embeds Hanazono and BabelStone Han, which hold the rare name characters (生僻字) of CJK extensions A–G.
if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q . \
  || [ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] || [ ! -f /usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    chromium fonts-noto-cjk fonts-hanazono fonts-babelstone-han >/dev/null
fi
.venv/bin/ruff check src benchmarks
.venv/bin/mypy src
.venv/bin/lint-imports --no-cache  # the apps depend downward only (contract in pyproject.toml)
# The two databases run side by side (one core each) so the whole run stays well under 20 minutes;
# each gets its own data folder so their lakes never meet. The tests that start the service's own
# processes on databases of their own (marker `processes`: kills, pushes, the worker, gunicorn) cover
# SQLite and PostgreSQL themselves whatever the suite runs on: they run once, beside the SQLite suite,
# which is the shorter; the browser tests and the larger-data ones run with PostgreSQL.
PG_DATA="$(mktemp -d)"
LITE_DATA="$(mktemp -d)"
LITE_LOG="$LITE_DATA/pytest.log"
echo "== tests on SQLite, and the process-level tests, start in the background"
SAFETYNET_DATA_DIR="$LITE_DATA" SAFETYNET_DATABASE_URL="sqlite:///$LITE_DATA/test.sqlite3" \
  .venv/bin/pytest -q -p no:cacheprovider -m "not browser and (not slow or processes)" >"$LITE_LOG" 2>&1 &
LITE_PID=$!
echo "== tests on PostgreSQL (browser tests included)"
pg_rc=0
SAFETYNET_DATA_DIR="$PG_DATA" \
SAFETYNET_DATABASE_URL="${SAFETYNET_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}" \
  .venv/bin/pytest -q -p no:cacheprovider -m "browser or not processes" || pg_rc=$?
lite_rc=0
wait "$LITE_PID" || lite_rc=$?
echo "== tests on SQLite"
cat "$LITE_LOG"
echo "== PostgreSQL exit $pg_rc, SQLite exit $lite_rc"
[ "$pg_rc" -eq 0 ] && [ "$lite_rc" -eq 0 ]
