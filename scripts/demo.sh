#!/usr/bin/env bash
# Fresh clone -> running demo: install, generate a demo county, import it, create demo users, serve.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.lock
.venv/bin/pip install -q --no-deps -e .
# The notification letter embeds fonts that hold rare name characters (生僻字); installed where this
# machine can (Debian, as root). Without them letters still print, in the reader's built-in Song font.
if [ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-hanazono fonts-babelstone-han >/dev/null) \
    || echo "note: could not install the letter fonts (fonts-hanazono, fonts-babelstone-han); letters use the built-in font"
fi
exec .venv/bin/safetynet demo "$@"
