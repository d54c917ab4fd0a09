#!/usr/bin/env bash
# Command 2: install everything and run the whole test suite (lint first).
# On SQLite by default; set TEST_DATABASE_URL (PostgreSQL) and REDIS_URL to run the
# same suite on the production parts. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
