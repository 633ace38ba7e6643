#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, on SQLite and, when a PostgreSQL server is
# reachable, on PostgreSQL too. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev

if [ -z "${HOTLINE_TEST_POSTGRES_URL:-}" ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ "$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
        for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    fi
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        export HOTLINE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    else
        echo "note: no PostgreSQL on 127.0.0.1:5432; running the SQLite half only" >&2
    fi
fi
exec .venv/bin/python -m pytest "$@"
