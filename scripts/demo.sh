#!/usr/bin/env bash
# Command 1: install everything and run the service on its embedded default:
# SQLite in instance/, demo policies, the dev mailbox at /dev/mailbox/.
# Extra arguments go to `flask serve` (e.g. --port 8000 --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/flask --app wsgi serve --demo "$@"
