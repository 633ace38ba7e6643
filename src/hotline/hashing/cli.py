"""`hotline hash`: hash files and folders, one JSON object per line on stdout.

The lead registers it with `app.command("hash")(hash_command)`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline.hashing.errors import ErrorCode, HashingError

# Kept here rather than imported: importing image_io would load numpy and Pillow for every
# `hotline` command. test_cli checks it equals image_io.DEFAULT_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 100_000_000


def hash_one(
    path: str, max_pixels: int = DEFAULT_MAX_PIXELS, signals: Sequence[str] = ()
) -> dict[str, Any]:
    """One output record; never raises, so one bad file cannot stop a bulk run. With
    `signals`, only those signal types (built-in or plug-in) are computed."""
    from hotline.hashing.media import hash_file, signals_of_file  # numba, PyAV load here

    try:
        if signals:
            return {"path": path, **signals_of_file(path, signals)}
        return {"path": path, **hash_file(path, max_pixels=max_pixels).to_json()}
    except HashingError as exc:
        return {"path": path, "error": f"{exc.code.value}: {exc.message}"}
    except Exception as exc:  # a bug or an exotic decoder failure: report it, keep going
        code = ErrorCode.INTERNAL_ERROR.value
        return {"path": path, "error": f"{code}: {type(exc).__name__}: {exc}"}


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus every file under folders named (recursively, sorted, no symlinked dirs)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(Path(root) / name for name in sorted(files))
        else:
            found.append(path)
    return found


def _results(
    files: list[Path], jobs: int, max_pixels: int, signals: Sequence[str]
) -> Iterator[dict[str, Any]]:
    names = [str(f) for f in files]
    if jobs == 1 or len(names) < 2:
        for name in names:
            yield hash_one(name, max_pixels, signals)
        return
    from hotline.hashing.pdq import warm_up

    warm_up()  # load the compiled kernels once, before the workers fork
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # map keeps input order, so output is reproducible whatever the number of workers.
        n = len(names)
        yield from pool.map(hash_one, names, [max_pixels] * n, [signals] * n, chunksize=4)


def _known_signals(names: list[str]) -> list[str]:
    """The registry's names for `names` (plug-ins included); exit 2 on an unknown one."""
    from hotline.hashing.signals import get_signal_type

    try:
        return list(dict.fromkeys(get_signal_type(n).name for n in names))
    except HashingError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None


def hash_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Image or video files, or folders to search recursively.", show_default=False
        ),
    ],
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes hashing in parallel.")
    ] = 1,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show progress on stderr (default: only when stderr is a terminal).",
            show_default=False,
        ),
    ] = None,
    max_pixels: Annotated[
        int, typer.Option(min=1, help="Refuse images or video frames with more pixels than this.")
    ] = DEFAULT_MAX_PIXELS,
    signal: Annotated[
        list[str] | None,
        typer.Option(
            "--signal",
            "-s",
            help="Compute only this signal type (built-in or plug-in NAME, e.g. pdq); repeat "
            "for several.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Hash images and videos: MD5, SHA-1, SHA-256 and PDQ (images) or vPDQ (videos).

    Prints one JSON object per file on stdout: images get "pdq" and "pdq_quality", videos
    get "vpdq" (one entry per frame), failures get "error" ("code: message"). With --signal,
    each object holds "media" and the named signal types' hashes instead. Exits 0 when
    every file was hashed, 1 when some failed, 2 on a usage error (an unknown signal type).
    """
    signals = _known_signals(signal or [])
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            typer.echo(f"error: no such file or folder: {path}", err=True)
        raise typer.Exit(2)
    files = collect_files(paths)
    show = sys.stderr.isatty() if progress is None else progress
    failed = 0
    for done, record in enumerate(_results(files, jobs, max_pixels, signals), start=1):
        failed += "error" in record
        sys.stdout.write(json.dumps(record) + "\n")
        if show:
            sys.stderr.write(f"\rhashed {done}/{len(files)} files, {failed} failed")
            sys.stderr.flush()
    sys.stdout.flush()
    if show:
        sys.stderr.write("\n")
    if failed:
        raise typer.Exit(1)
