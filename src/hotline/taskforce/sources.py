"""Reading a SOURCE's files one at a time: folders, zip and tar archives, with safety caps.

Every reader yields members in a fixed order (sorted walk, archive order), so a member's index
is the same on every run and a re-run resumes at the source's cursor. Nothing is extracted to
disk and nothing holds more than one file in memory.

`survey` reads a source through once before anything is written: it counts the members and
refuses the whole source (`Refused`) when it is corrupt or a bomb (too many files, too many
bytes, a compression ratio above the cap), so a refused source leaves nothing half-written.
Links, devices, names that escape the archive, files over the size cap are members that fail,
each recorded with its reason; they never stop the set.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from hotline.taskforce.model import Limits, Member, Refused, SourceKind, unsafe_member_name

_CHUNK = 1 << 20


def fingerprint(path: Path, kind: SourceKind) -> tuple[str, int]:
    """SHA-256 and size of a file source; for a folder, of its sorted listing (names, sizes
    and modification times in nanoseconds: a file rewritten in place at the same size makes
    the folder a new source, not one already imported)."""
    digest = hashlib.sha256()
    if kind is SourceKind.folder:
        total = 0
        for relative, full in _walk(path):
            info = full.lstat()
            total += info.st_size
            line = f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n"
            digest.update(line.encode("utf-8", "surrogateescape"))
        return digest.hexdigest(), total
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest(), path.stat().st_size


def survey(path: Path, kind: SourceKind, limits: Limits) -> int:
    """How many members the source holds; `Refused` if it is corrupt, a bomb, or empty."""
    if kind is SourceKind.folder:
        count = sum(1 for _ in _walk(path))
    elif kind is SourceKind.zip:
        count = _survey_zip(path, limits)
    else:
        count = _survey_tar(path, limits)
    if count == 0:
        raise Refused("the source holds no files")
    return count


def members(path: Path, kind: SourceKind, limits: Limits, start: int = 0) -> Iterator[Member]:
    """Members from index `start` on, each with its bytes or the reason it has none."""
    if kind is SourceKind.folder:
        yield from _folder_members(path, limits, start)
    elif kind is SourceKind.zip:
        yield from _zip_members(path, limits, start)
    else:
        yield from _tar_members(path, limits, start)


def _read_capped(handle: IO[bytes], cap: int) -> bytes | None:
    """The stream's bytes, or None when there are more than `cap`."""
    data = handle.read(cap + 1)
    return None if len(data) > cap else data


def _too_large(limits: Limits) -> str:
    return f"larger than the {limits.max_member_bytes:,}-byte limit per file"


# -- folders -----------------------------------------------------------------------------------


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Every entry but directories, sorted; links are listed (as members that fail), never
    followed."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        base = Path(folder)
        linked = [d for d in dirs if (base / d).is_symlink()]
        dirs[:] = [d for d in dirs if d not in linked]
        for name in sorted([*files, *linked]):
            full = base / name
            yield full.relative_to(root).as_posix(), full


def _folder_members(root: Path, limits: Limits, start: int) -> Iterator[Member]:
    for index, (relative, full) in enumerate(_walk(root)):
        if index < start:
            continue
        mode = full.lstat().st_mode
        if stat.S_ISLNK(mode):
            yield Member(index, relative, None, "a link; links are not followed")
        elif not stat.S_ISREG(mode):
            yield Member(index, relative, None, "not a regular file (a device, socket or pipe)")
        elif full.lstat().st_size > limits.max_member_bytes:
            yield Member(index, relative, None, _too_large(limits))
        else:
            try:
                with full.open("rb") as handle:
                    data = _read_capped(handle, limits.max_member_bytes)
            except OSError as exc:
                yield Member(index, relative, None, f"cannot read: {exc.strerror}")
                continue
            if data is None:
                yield Member(index, relative, None, _too_large(limits))
            else:
                yield Member(index, relative, data)


# -- zip ---------------------------------------------------------------------------------------


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Refused(f"not a readable zip archive: {exc}") from exc


def _zip_files(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [info for info in archive.infolist() if not info.is_dir()]


def _zip_problem(info: zipfile.ZipInfo) -> str | None:
    unsafe = unsafe_member_name(info.filename)
    if unsafe:
        return unsafe
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "a link; links are not followed"
    if kind not in (0, stat.S_IFREG):
        return "not a regular file (a device, socket or pipe)"
    if info.flag_bits & 0x1:
        return "encrypted"
    return None


def _check_totals(count: int, total: int, packed: int, limits: Limits) -> None:
    if count > limits.max_members:
        raise Refused(f"more than {limits.max_members:,} files (HOTLINE_TASKFORCE_MAX_MEMBERS)")
    if total > limits.max_total_bytes:
        raise Refused(
            f"unpacks to more than {limits.max_total_bytes:,} bytes "
            "(HOTLINE_TASKFORCE_MAX_TOTAL_BYTES)"
        )
    if total > limits.max_ratio * max(packed, 1):
        raise Refused(
            f"a compression ratio above {limits.max_ratio} (HOTLINE_TASKFORCE_MAX_RATIO): "
            "an archive bomb"
        )


def _survey_zip(path: Path, limits: Limits) -> int:
    with _open_zip(path) as archive:
        files = _zip_files(archive)
        declared = sum(info.file_size for info in files)
        _check_totals(len(files), declared, path.stat().st_size, limits)
        for info in files:
            if info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise Refused(f"{info.filename}: a compression ratio above {limits.max_ratio}")
            if _zip_problem(info) or info.file_size > limits.max_member_bytes:
                continue
            _drain_zip_member(archive, info)
        return len(files)


def _drain_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Read one member through (its CRC is checked at the end) without keeping it."""
    try:
        with archive.open(info) as handle:
            read = 0
            while chunk := handle.read(_CHUNK):
                read += len(chunk)
                if read > info.file_size:  # the header lied about its size
                    raise Refused(f"{info.filename}: more bytes than its header declares")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise Refused(f"a corrupt zip archive ({info.filename}: {exc})") from exc


def _zip_members(path: Path, limits: Limits, start: int) -> Iterator[Member]:
    with _open_zip(path) as archive:
        for index, info in enumerate(_zip_files(archive)):
            if index < start:
                continue
            problem = _zip_problem(info)
            if problem is None and info.file_size > limits.max_member_bytes:
                problem = _too_large(limits)
            if problem:
                yield Member(index, info.filename, None, problem)
                continue
            try:
                with archive.open(info) as handle:
                    data = _read_capped(handle, limits.max_member_bytes)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                yield Member(index, info.filename, None, f"cannot read from the archive: {exc}")
                continue
            if data is None:
                yield Member(index, info.filename, None, _too_large(limits))
            else:
                yield Member(index, info.filename, data)


# -- tar ---------------------------------------------------------------------------------------


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise Refused(f"not a readable tar archive: {exc}") from exc


def _tar_problem(info: tarfile.TarInfo) -> str | None:
    unsafe = unsafe_member_name(info.name)
    if unsafe:
        return unsafe
    if info.issym() or info.islnk():
        return "a link; links are not followed"
    if not info.isreg():
        return "not a regular file (a device, socket or pipe)"
    return None


def _tar_entries(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Every entry but directories, in archive order, streamed (never the whole list)."""
    try:
        while (info := archive.next()) is not None:
            if not info.isdir():
                yield info
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise Refused(f"a corrupt tar archive: {exc}") from exc


def _survey_tar(path: Path, limits: Limits) -> int:
    packed = path.stat().st_size
    count = total = 0
    with _open_tar(path) as archive:
        for info in _tar_entries(archive):
            count += 1
            total += info.size if info.isreg() else 0
            _check_totals(count, total, packed, limits)
            if _tar_problem(info) is None and info.size <= limits.max_member_bytes:
                _drain_tar_member(archive, info)
        archive.members = []  # type: ignore[attr-defined]  # the entries read so far: not kept
    return count


def _drain_tar_member(archive: tarfile.TarFile, info: tarfile.TarInfo) -> None:
    try:
        handle = archive.extractfile(info)
        if handle is not None:
            while handle.read(_CHUNK):
                pass
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise Refused(f"a corrupt tar archive ({info.name}: {exc})") from exc


def _tar_members(path: Path, limits: Limits, start: int) -> Iterator[Member]:
    with _open_tar(path) as archive:
        for index, info in enumerate(_tar_entries(archive)):
            archive.members = []  # type: ignore[attr-defined]  # streamed: the entries already read are not kept
            if index < start:
                continue
            problem = _tar_problem(info)
            if problem is None and info.size > limits.max_member_bytes:
                problem = _too_large(limits)
            if problem:
                yield Member(index, info.name, None, problem)
                continue
            try:
                handle = archive.extractfile(info)
                data = _read_capped(handle, limits.max_member_bytes) if handle else None
            except (tarfile.TarError, OSError, EOFError) as exc:
                yield Member(index, info.name, None, f"cannot read from the archive: {exc}")
                continue
            if data is None:
                yield Member(index, info.name, None, _too_large(limits))
            else:
                yield Member(index, info.name, data)
