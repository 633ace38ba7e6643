#!/usr/bin/env bash
# Regenerate the lock, requirements/*.txt, from pyproject.toml for Python 3.11 on Linux, with
# hashes. Run it after changing a dependency; commit pyproject.toml and requirements/ together.
#   bash scripts/lock.sh              keep locked versions where the bounds still allow them
#   bash scripts/lock.sh --upgrade    move every package to the newest version the bounds allow
# Needs uv (in the dev extra: .venv/bin/uv; or set UV=/path/to/uv).
set -euo pipefail
cd "$(dirname "$0")/.."

uv="${UV:-}"
if [ -z "$uv" ]; then
    if [ -x .venv/bin/uv ]; then uv=.venv/bin/uv
    elif command -v uv >/dev/null; then uv=uv
    else echo "error: uv not found: bash scripts/setup.sh --dev, or pip install uv" >&2; exit 2
    fi
fi

upgrade=()
case "${1:-}" in
    "") ;;
    --upgrade) upgrade=(--upgrade) ;;
    *) echo "usage: bash scripts/lock.sh [--upgrade]" >&2; exit 2 ;;
esac

# uv reads no pip.conf. The lock is made from the registry alone (PIP_INDEX_URL if set, else
# PyPI), so its hashes are the registry's; pip's local mirrors here serve the same files.
index="${PIP_INDEX_URL:-$(.venv/bin/python -c 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)')}"
common=(--quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes
        --index-url "$index" --no-emit-index-url --no-strip-extras --custom-compile-command "bash scripts/lock.sh"
        # The member client comes from clients/python ([tool.uv.sources]); its dependencies
        # are locked, it is not (a folder has no hash): scripts/setup.sh installs it.
        --no-emit-package hotline-client)

# Runtime: what a deployment installs (the dependencies and the compiled kernels).
"$uv" pip compile pyproject.toml --extra numba "${common[@]}" "${upgrade[@]}" \
    --output-file requirements/runtime.txt
# Dev: tests, linters and every extra, held to the runtime versions.
"$uv" pip compile pyproject.toml --all-extras --constraint requirements/runtime.txt \
    "${common[@]}" "${upgrade[@]}" --output-file requirements/dev.txt
# Build: what `pip install --no-build-isolation -e .` builds hotline with ([build-system]).
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' \
    | "$uv" pip compile - "${common[@]}" "${upgrade[@]}" --output-file requirements/build.txt
echo "locked: requirements/build.txt, requirements/runtime.txt ($(grep -c '^[a-z0-9]' requirements/runtime.txt) packages)," \
     "requirements/dev.txt ($(grep -c '^[a-z0-9]' requirements/dev.txt) packages)"
