"""Keep a copy of a list current from a member's own code, the server's verify and apply-delta
without the server:

    keyring = Keyring.load("keyring.json")
    with ListFetcher("https://hotline.example.org", "hlk_…") as fetcher:
        release = fetcher.fetch_release("hashes", "lists/hashes", keyring)
        ...
        delta = fetcher.fetch_delta("hashes", release.version, "lists/hashes-delta", keyring)
        apply_delta(release.path("entries.jsonl"), delta)

`fetch_release` and `fetch_delta` read the release (or delta) descriptor, download every file
it names into a hidden folder beside `into`, check the signature and every file with
`verify_release`, and only then rename the folder to `into` (replacing an older copy there):
a failed or altered download never takes the old copy's place. `apply_delta` brings an
`entries.jsonl` copy to the delta's version the way `hotline lists apply-delta` does: the
delta must be for the same list and start at the copy's version, and the new copy is written
beside the old one and renamed over it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from hotline_client.api import MatchError, _error, _headers
from hotline_client.release import Keyring, ReleaseError, VerifiedRelease, verify_release

DELTA_FORMAT = "hotline-hash-list-delta"  # = hotline.lists.formats.DELTA_FORMAT
DELTA_FILE = "delta.jsonl"


class DeltaError(ReleaseError):
    """The delta does not fit this copy, or a file is malformed; the copy was not changed."""


@dataclass(frozen=True, slots=True)
class Applied:
    list: str
    since: int
    version: int
    added: int
    withdrawn: int
    entries: int


class ListFetcher:
    """Downloads releases and deltas with a member key. `client` lets a caller bring its own
    `httpx.Client` (proxies, certificates); otherwise one is made and closed by `close()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout)
        self._headers = _headers(api_key)

    def __enter__(self) -> ListFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._client.close()

    def fetch_release(
        self, list_name: str, into: str | Path, keyring: Keyring, *, version: int | str = "latest"
    ) -> VerifiedRelease:
        """Release `version` (a number, or "latest") of `list_name`, verified, in `into`."""
        path = f"/api/v1/lists/{quote(list_name, safe='')}/releases/{version}"
        return self._fetch(path, {}, list_name, Path(into), keyring)

    def fetch_delta(
        self, list_name: str, since: int, into: str | Path, keyring: Keyring
    ) -> VerifiedRelease:
        """The signed delta from version `since` to the latest, verified, in `into`."""
        path = f"/api/v1/lists/{quote(list_name, safe='')}/delta"
        return self._fetch(path, {"since": since}, list_name, Path(into), keyring)

    def _get(self, url: str, params: dict[str, Any]) -> httpx.Response:
        try:
            response = self._client.get(url, params=params, headers=self._headers)
        except httpx.HTTPError as exc:
            raise MatchError(f"cannot reach the lists API: {exc}") from exc
        if not response.is_success:
            raise _error(response)
        return response

    def _fetch(
        self, path: str, params: dict[str, Any], list_name: str, into: Path, keyring: Keyring
    ) -> VerifiedRelease:
        response = self._get(path, params)
        try:
            descriptor = response.json()
            files = [(str(f["name"]), str(f["url"])) for f in descriptor["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise MatchError(f"{path} did not answer with a release descriptor") from exc
        into.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{into.name}.", dir=into.parent))
        try:
            for name, url in files:
                self._download(path, name, url, scratch / name)
            checked = verify_release(scratch, keyring)
            if checked.list != list_name:
                raise ReleaseError(f"asked for list {list_name!r}, got {checked.list!r}")
            _replace(scratch, into)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return dataclasses.replace(checked, folder=into)

    def _download(self, path: str, name: str, url: str, target: Path) -> None:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ReleaseError(f"the descriptor names an unsafe file {name!r}")
        base = str(self._client.base_url)
        full = urljoin(base.rstrip("/") + path, url)
        if urlsplit(full).netloc != urlsplit(base).netloc:  # the key would go with it
            raise ReleaseError(f"the descriptor points {name} at another server")
        try:
            with self._client.stream("GET", full, headers=self._headers) as stream:
                if not stream.is_success:
                    stream.read()
                    raise _error(stream)
                with target.open("wb") as out:
                    for chunk in stream.iter_bytes():
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise MatchError(f"downloading {name} failed: {exc}") from exc


def _replace(new: Path, into: Path) -> None:
    """Put the verified folder `new` at `into`; an older copy is moved aside first and
    removed only once the new one is in place."""
    old = None
    if into.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{into.name}.old.", dir=into.parent)) / "copy"
        into.rename(old)
    try:
        new.rename(into)
    except OSError:
        if old is not None:
            old.rename(into)
        raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def _lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeltaError(f"cannot read {path}: {exc.strerror}") from exc
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise DeltaError(f"{path.name} line {number}: not JSON") from exc
        if not isinstance(record, dict):
            raise DeltaError(f"{path.name} line {number}: not a JSON object")
        out.append(record)
    if not out:
        raise DeltaError(f"{path.name} is empty")
    return out


def apply_delta(copy: str | Path, delta: VerifiedRelease) -> Applied:
    """Bring `copy` (an `entries.jsonl`) to the version of `delta` (a verified delta)."""
    if delta.kind != "delta":
        raise DeltaError(f"{delta.folder} holds a {delta.kind} release, not a delta")
    return apply_delta_file(Path(copy), delta.path(DELTA_FILE))


def apply_delta_file(
    copy: Path, delta_file: Path, *, check: Callable[[Path], None] | None = None
) -> Applied:
    """`apply_delta` on a delta file already verified. `check(path)` (raising `DeltaError`),
    when given, vets the copy before and the new copy before it replaces the old one;
    otherwise the copy's header entry count is checked. The server's `hotline lists
    apply-delta` passes its stricter hash-list check."""
    records = _lines(copy)
    header, entries_lines = records[0], records[1:]
    if check is not None:
        check(copy)
    elif header.get("entries") != len(entries_lines):
        raise DeltaError(f"{copy.name}: the header's entry count does not match its lines")
    changes = _lines(delta_file)
    dheader = changes[0]
    if dheader.get("format") != DELTA_FORMAT:
        raise DeltaError(f"{delta_file.name} is not a {DELTA_FORMAT} file")
    if dheader.get("list") != header.get("list"):
        raise DeltaError(
            f"the delta is for list {dheader.get('list')!r}, the copy is {header.get('list')!r}"
        )
    if dheader.get("since") != header.get("version"):
        raise DeltaError(
            f"the delta starts at version {dheader.get('since')}, the copy is at "
            f"{header.get('version')}: fetch the delta since {header.get('version')}"
        )
    if not all(isinstance(r.get("id"), int) for r in entries_lines):
        raise DeltaError(f"{copy.name}: an entry has no whole-number id")
    entries = {r["id"]: r for r in entries_lines}
    added = withdrawn = 0
    for number, change in enumerate(changes[1:], start=2):
        op = change.pop("op", None)
        entry_id = change.get("id")
        if op == "add" and isinstance(entry_id, int):
            entries[entry_id] = change
            added += 1
        elif op == "withdraw" and isinstance(entry_id, int):
            withdrawn += entries.pop(entry_id, None) is not None
        else:
            raise DeltaError(f"{delta_file.name} line {number}: not an add or withdraw")
    header = {
        **header,
        "version": dheader["version"],
        "entries": len(entries),
        "exported_at": datetime.now(UTC).isoformat(),
    }
    partial = copy.with_name(copy.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            for entry_id in sorted(entries):
                out.write(json.dumps(entries[entry_id]) + "\n")
        if check is not None:
            check(partial)  # the result must itself be a valid copy
        partial.replace(copy)
    except (OSError, DeltaError) as exc:
        partial.unlink(missing_ok=True)
        raise DeltaError(f"could not write the updated copy: {exc}") from exc
    return Applied(
        str(header["list"]),
        int(dheader["since"]),
        int(dheader["version"]),
        added,
        withdrawn,
        len(entries),
    )
