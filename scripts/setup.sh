#!/usr/bin/env bash
# Install everything the project needs into .venv (idempotent) and compile the
# translations. Usage: scripts/setup.sh [--test]   (--test adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras=""
if [ "${1:-}" = "--test" ]; then extras="[test]"; fi

stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras}"
  touch "$stamp"
fi
.venv/bin/pybabel compile -d translations >/dev/null

# Front-end packages from the npm registry, copied into static/vendor/ (no CDN).
# axe-core is test-only: the browser tests inject node_modules/axe-core/axe.min.js
# into pages; it is never copied into static/vendor/ nor served to users.
if [ ! -d node_modules/socket.io-client ] || [ ! -f node_modules/axe-core/axe.min.js ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
mkdir -p static/vendor
cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io.min.js
