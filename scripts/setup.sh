#!/usr/bin/env bash
# Make .venv with hotline installed from the lock. `--dev` adds the test tools and Debian's
# chromium for browser tests. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

py=""
for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        py=$candidate; break
    fi
done
[ -n "$py" ] || { echo "error: hotline needs Python 3.11 or newer" >&2; exit 2; }

[ -x .venv/bin/python ] || "$py" -m venv .venv
# Installs exactly the lock (requirements/*.txt, hashes checked; build.txt is what builds
# hotline), then hotline itself without dependencies or a download of its build tools. The stamp holds the lock's and pyproject's checksum: a changed lock
# re-installs. Packages not in the lock are left alone (pip install, not a sync).
lock=requirements/runtime.txt
[ $dev = 1 ] && lock=requirements/dev.txt
stamp=.venv/.hotline-installed-$dev
want="$(cat requirements/build.txt "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)"
# The member client (clients/python, `hotline-client`) that the server imports: its pyproject counts.
want="$want-$(sha256sum clients/python/pyproject.toml | cut -d' ' -f1)"
# --dev also installs the example signal-type plug-in (examples/hotline-dhash): its pyproject counts.
[ $dev = 1 ] && want="$want-$(sha256sum examples/hotline-dhash/pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --require-hashes -r requirements/build.txt -r "$lock"
    # The distribution was called `hotline` before it became `hotline-server`: drop the old one.
    if .venv/bin/python -m pip show --quiet hotline >/dev/null 2>&1; then
        .venv/bin/python -m pip uninstall --quiet --yes hotline
    fi
    # The client first: hotline-server requires it, and it is not on the lock (scripts/lock.sh).
    .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e clients/python
    .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
    if [ $dev = 1 ]; then  # tests prove plug-ins on it (tests/hashing/test_plugin_signal.py)
        .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e examples/hotline-dhash
    fi
    echo "$want" > "$stamp"
fi

if [ $dev = 1 ] && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing Debian's chromium for browser tests..." >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "note: /usr/bin/chromium is missing; browser tests will be skipped (sudo apt-get install chromium)" >&2
    fi
fi
