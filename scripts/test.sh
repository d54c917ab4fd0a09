#!/usr/bin/env bash
# Command 2: install everything and run the whole test suite (lint and types first).
# On SQLite by default; set TEST_DATABASE_URL (PostgreSQL) and REDIS_URL to run the
# same suite on the production parts. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/mypy  # the packages and settings in pyproject.toml's [tool.mypy]
exec .venv/bin/python -m pytest "$@"
