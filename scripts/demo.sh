#!/usr/bin/env bash
# Set up and run the demo: SQLite under ./hotline-data, demo accounts, advice and benign data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hotline serve --demo "$@"
