#!/usr/bin/env bash
# Fresh clone -> running demo: install, generate a demo county, import it, create demo users, serve.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.lock
.venv/bin/pip install -q --no-deps -e .
exec .venv/bin/safetynet demo "$@"
