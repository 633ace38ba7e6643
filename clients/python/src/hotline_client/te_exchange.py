"""A python-threatexchange exchange ("hotline") that fetches a list from a hotline instance's
member API, so HMA (Hasher-Matcher-Actioner) or the `threatexchange` CLI can sync a hotline
hash list into a bank and match against it.

Part of the member client (`pip install 'hotline-client[threatexchange]'`): it needs
python-threatexchange and httpx, never the hotline server; `hotline.lists.te_exchange`
re-exports it for configurations written before the split. Load it with
`threatexchange config extensions add hotline_client.te_exchange`.

How it fetches: `GET {base_url}/api/v1/lists/{list_name}/delta?since=N` with the member key
as `Authorization: Bearer hlk_…`, then the descriptor's `delta.jsonl`, whose bytes must match
the descriptor's size and SHA-256 before anything is handed over. Each fetch yields one
`FetchDelta`, so the checkpoint (the version fetched) only moves once a whole delta is in;
an interrupted fetch starts that delta again.

Why records are keyed by entry id, not by `("pdq", hash)`: a withdrawal line carries only
the entry id. Keyed by id, like the NCMEC exchange, a withdrawal is simply `id → None`, and
two entries with the same PDQ stay two records (withdrawing one keeps the other). Keying by
hash would need an id→PDQ map of the whole list in the checkpoint, which HMA rewrites on
every fetch, or a full download every time. `naive_convert_to_signal_type` turns the
records into PDQ signals, videos' into vPDQ signals (the string threatexchange's `vpdq`
extension, `VPDQSignal`, reads, as the release's `threatexchange.txt` writes it) and a video's
whole-file MD5 into `video_md5` signals (threatexchange's `VideoMD5Signal`), for the signal
types the caller supports; HMA converts each record on its own and keeps one bank item per
entry. A video is an entry that carries a vPDQ. Entries with none of these are skipped:
threatexchange has no signal type for the MD5 or SHA digests of a photo's bytes.

Each record's opinion is positive and tagged `category_a`/`_b`/`_c` (HMA shows tags on a bank
item and its matches): how the category reaches HMA. HMA matches the vPDQ signals with
threatexchange's `VPDQIndex` under its defaults, which are hotline's default video rule
(`hotline_client.vpdq`: 80 % of the query's frames, 0 % of the listed video's). Hashes of
hotline's plug-in signal types (a key named after the type on a delta line) are ignored
too: nothing ties a hotline plug-in to one of threatexchange's signal types.

A list's own PDQ maximum distance (`pdq_max_distance` in the delta's header) does not reach
HMA, which matches PDQ at threatexchange's own threshold (31 bits); when the list's is tighter,
each fetch logs a warning once, so an operator can set HMA's threshold to match.

Not checked here: the release signature (`manifest.sig`). The SHA-256 comes from the same
server over TLS; a deployment that wants end-to-end proof downloads the signed release and
checks it with `hotline_client.verify_release` against the hotline's published keyring.

No `from __future__ import annotations` here: the threatexchange CLI builds its
`config collab edit` flags from the real types of the config dataclass fields.
"""

import hashlib
import json
import logging
import re
import typing as t
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from urllib.parse import quote, urlsplit

import httpx
from threatexchange.exchanges import auth
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPI
from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.pdq_utils import PDQ_CONFIDENT_MATCH_THRESHOLD
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.signal_base import SignalType

from hotline_client.vpdq import QUALITY_THRESHOLD

log = logging.getLogger(__name__)

API_NAME = "hotline"
DELTA_FORMAT = "hotline-hash-list-delta"  # = hotline.lists.formats.DELTA_FORMAT
DELTA_FORMAT_VERSION = 1
DELTA_FILE = "delta.jsonl"
_KEY_RE = re.compile(r"^hlk_[0-9a-f]+_[0-9a-f]+$")
PDQ_SIGNAL = PdqSignal.get_name()
# threatexchange.extensions.vpdq's VPDQSignal.get_name(): matched by name, because importing
# that extension needs Meta's compiled `vpdq` package, which HMA has and this plug-in need not.
VPDQ_SIGNAL = "vpdq"
VIDEO_MD5_SIGNAL = VideoMD5Signal.get_name()  # "video_md5"
VPDQ_QUALITY_THRESHOLD = QUALITY_THRESHOLD  # frames below it never match (hotline's and Meta's)


class HotlineExchangeError(Exception):
    """A fetch failed; the message says what the server answered or what did not match."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        Exception.__init__(self, message)  # not super(): see HotlineAuthError's bases
        self.message = message
        self.status = status
        self.code = code


class HotlineAuthError(HotlineExchangeError, auth.SignalExchangeAPIInvalidAuthException):
    """401: the key is unknown or revoked. Also threatexchange's invalid-auth exception, so
    the CLI and HMA report it as bad credentials."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        HotlineExchangeError.__init__(self, message, status=status, code=code)
        self.src_api = HotlineSignalExchangeAPI


@dataclass
class _HotlineCollabRequired:
    base_url: str = field(
        metadata={"help": "the hotline instance, e.g. https://hotline.example.org"}
    )
    list_name: str = field(metadata={"help": "the hash list to fetch, e.g. iwf-hashes"})


@dataclass
class HotlineCollabConfig(CollaborationConfigWithDefaults, _HotlineCollabRequired):
    """One hotline list to sync: where the instance is and which list."""

    api: str = field(init=False, default=API_NAME)


@dataclass
class HotlineCredentials(auth.CredentialHelper):
    """The member key the hotline gave you (`hlk_<prefix>_<secret>`). In HMA, set it as the
    exchange type's credentials; for the CLI, the env variable or the file below."""

    ENV_VARIABLE: t.ClassVar[str] = "TX_HOTLINE_API_KEY"
    FILE_NAME: t.ClassVar[str] = "~/.tx_hotline_api_key"

    api_key: str = field(metadata={"help": "member API key, hlk_<prefix>_<secret>"})

    @classmethod
    def _from_str(cls, s: str) -> "HotlineCredentials":
        return cls(s.strip())

    def _are_valid(self) -> bool:
        return bool(_KEY_RE.match(self.api_key))


@dataclass
class HotlineCheckpoint(state.FetchCheckpointBase):
    """The release version fetched (the next fetch asks for the delta since it), and which
    list it belongs to, so a collab re-pointed at another list fails instead of mixing."""

    version: int
    list_name: str = ""
    created_at: int = 0  # the delta's `created_at`, seconds since the epoch

    def get_progress_timestamp(self) -> int | None:
        return self.created_at or None


@dataclass
class HotlineSignalMetadata(state.FetchedSignalMetadata):
    """One list entry as fetched (also the record stored per entry id). Every entry was
    verified by the hotline, so the opinion is a positive one, tagged with its category."""

    entry_id: int
    category: str
    pdq: str | None = None  # None for a video that has only a vPDQ
    pdq_quality: int | None = None
    added_at: str | None = None
    jurisdictions: dict[str, str] = field(default_factory=dict)
    vpdq: str | None = None  # as VPDQSignal's signal string: JSON ["pdq,quality,timestamp", ...]
    video_md5: str | None = None  # a video's whole-file MD5 (VideoMD5Signal)

    def get_as_opinions(self) -> Sequence[state.SignalOpinion]:
        tags = {f"category_{self.category.lower()}"}
        return [state.SignalOpinion(False, state.SignalOpinionCategory.POSITIVE_CLASS, tags)]


_Delta = state.FetchDelta[int, HotlineSignalMetadata, HotlineCheckpoint]


class HotlineSignalExchangeAPI(
    auth.SignalExchangeWithAuth[HotlineCollabConfig, HotlineCredentials],
    SignalExchangeAPI[
        HotlineCollabConfig, HotlineCheckpoint, HotlineSignalMetadata, int, HotlineSignalMetadata
    ],
):
    """Fetch-only: a hotline list is curated by the hotline, so no opinions are uploaded."""

    def __init__(
        self,
        collab: HotlineCollabConfig,
        api_key: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.collab = collab
        self.client = client or httpx.Client(
            base_url=collab.base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "hotline-tx-exchange/1"},
            timeout=timeout,
        )
        self._origin = _origin(str(self.client.base_url))

    @classmethod
    def get_name(cls) -> str:
        return API_NAME

    @staticmethod
    def get_config_cls() -> type[HotlineCollabConfig]:
        return HotlineCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> type[HotlineCheckpoint]:
        return HotlineCheckpoint

    @staticmethod
    def get_record_cls() -> type[HotlineSignalMetadata]:
        return HotlineSignalMetadata

    @staticmethod
    def get_credential_cls() -> type[HotlineCredentials]:
        return HotlineCredentials

    @classmethod
    def for_collab(
        cls, collab: HotlineCollabConfig, credentials: HotlineCredentials | None = None
    ) -> "HotlineSignalExchangeAPI":
        credentials = credentials or HotlineCredentials.get(cls)
        return cls(collab, credentials.api_key)

    def close(self) -> None:
        self.client.close()

    # -- fetching ----------------------------------------------------------------------------

    def fetch_iter(
        self,
        supported_signal_types: Sequence[type[SignalType]],
        checkpoint: HotlineCheckpoint | None,
    ) -> Iterator[_Delta]:
        name = self.collab.list_name
        if checkpoint is not None and checkpoint.list_name not in ("", name):
            raise HotlineExchangeError(
                f"the stored checkpoint is for list {checkpoint.list_name!r}, not {name!r}: "
                "clear this exchange's fetched data before pointing it at another list"
            )
        since = 0 if checkpoint is None else checkpoint.version
        descriptor = self._get_json(f"/api/v1/lists/{quote(name, safe='')}/delta", since)
        version = descriptor.get("version")
        if descriptor.get("list") != name or not isinstance(version, int) or version < since:
            raise HotlineExchangeError(
                f"asked for {name!r} since {since}, the server described "
                f"{descriptor.get('list')!r} version {version!r}"
            )
        file = next((f for f in descriptor.get("files", []) if f.get("name") == DELTA_FILE), None)
        if file is None or not isinstance(file.get("url"), str):
            raise HotlineExchangeError(f"the delta of {name!r} since {since} has no {DELTA_FILE}")
        updates = self._read_delta(file, since, version)
        yield state.FetchDelta(
            updates, HotlineCheckpoint(version, name, _epoch(descriptor.get("created_at")))
        )

    def _get_json(self, path: str, since: int) -> dict[str, t.Any]:
        try:
            response = self.client.get(path, params={"since": since})
        except httpx.HTTPError as exc:
            raise HotlineExchangeError(f"cannot reach {self.collab.base_url}: {exc}") from exc
        self._check(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise HotlineExchangeError(f"{path} did not answer JSON") from exc
        if not isinstance(body, dict):
            raise HotlineExchangeError(f"{path} did not answer a JSON object")
        return body

    def _check(self, response: httpx.Response) -> None:
        """Raise with the server's own error message on anything but 2xx."""
        if response.is_success:
            return
        response.read()
        code, message = None, response.text[:200] or response.reason_phrase
        try:
            error = response.json().get("error", {})
            code, message = error.get("code"), error.get("message", message)
        except (ValueError, AttributeError):
            pass
        text = (
            f"{self.collab.list_name} at {self.collab.base_url}: HTTP {response.status_code}"
            f"{f' {code}' if code else ''}: {message}"
        )
        cls = HotlineAuthError if response.status_code == 401 else HotlineExchangeError
        raise cls(text, status=response.status_code, code=code)

    def _read_delta(
        self, file: Mapping[str, t.Any], since: int, version: int
    ) -> dict[int, HotlineSignalMetadata | None]:
        """Stream delta.jsonl: check the header first, then the size and SHA-256 of all of
        it. Additions come before withdrawals, so applying lines in order is right."""
        url = self._same_origin(file["url"])
        if not isinstance(file.get("sha256"), str) or not isinstance(file.get("bytes"), int):
            raise HotlineExchangeError(f"the descriptor gives no size or SHA-256 for {url}")
        updates: dict[int, HotlineSignalMetadata | None] = {}
        try:
            with self.client.stream("GET", url) as response:
                self._check(response)
                body = _HashedLines(response.iter_bytes())
                lines = iter(body)
                self._check_header(_json_line(next(lines, b""), 1), since, version)
                for number, raw in enumerate(lines, 2):
                    if raw.strip():
                        _apply(updates, _json_line(raw, number), number)
        except httpx.HTTPError as exc:
            raise HotlineExchangeError(f"downloading {url} failed: {exc}") from exc
        if body.bytes != file["bytes"] or body.sha256.hexdigest() != file["sha256"]:
            raise HotlineExchangeError(
                f"{url} does not match the size and SHA-256 its descriptor gives"
            )
        return updates

    def _check_header(self, header: Mapping[str, t.Any], since: int, version: int) -> None:
        expected = {
            "format": DELTA_FORMAT,
            "format_version": DELTA_FORMAT_VERSION,
            "list": self.collab.list_name,
            "since": since,
            "version": version,
        }
        wrong = [
            f"{key} is {header.get(key)!r}, expected {value!r}"
            for key, value in expected.items()
            if header.get(key) != value
        ]
        if wrong:
            raise HotlineExchangeError(
                f"the {DELTA_FILE} header does not match: {'; '.join(wrong)}"
            )
        tighter = header.get("pdq_max_distance")
        if isinstance(tighter, int) and tighter < PDQ_CONFIDENT_MATCH_THRESHOLD:
            log.warning(
                "list %r matches PDQ within %d bits, but HMA matches within its own %d: "
                "matches between the two are not the list's",
                self.collab.list_name,
                tighter,
                PDQ_CONFIDENT_MATCH_THRESHOLD,
            )

    def _same_origin(self, url: str) -> str:
        """The descriptor's file URL, refused if it leads elsewhere (the key goes with it)."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            if _origin(url) != self._origin:
                raise HotlineExchangeError(f"the descriptor points at another server: {url}")
            return url
        if not url.startswith("/"):
            raise HotlineExchangeError(f"the descriptor gives a file URL that is not a path: {url}")
        return url

    # -- conversion --------------------------------------------------------------------------

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: Sequence[type[SignalType]],
        collab: HotlineCollabConfig,
        fetched: Mapping[int, HotlineSignalMetadata | None],
    ) -> dict[type[SignalType], dict[str, HotlineSignalMetadata]]:
        """Entries as PDQ signals, videos as vPDQ and video MD5 signals, for the signal types
        the caller supports. Where entries share a hash, the most severe category (A before B
        before C) speaks for it. Nothing usable: `{}` (HMA then drops the record)."""
        out: dict[type[SignalType], dict[str, HotlineSignalMetadata]] = {}
        kinds = (
            (PDQ_SIGNAL, attrgetter("pdq")),
            (VPDQ_SIGNAL, attrgetter("vpdq")),
            (VIDEO_MD5_SIGNAL, attrgetter("video_md5")),
        )
        for name, value_of in kinds:
            kind = next((s for s in signal_types if s.get_name() == name), None)
            if kind is None:
                continue
            by_hash: dict[str, HotlineSignalMetadata] = {}
            for record in fetched.values():
                value = value_of(record) if record is not None else None
                if record is None or value is None:
                    continue
                try:
                    kind.validate_signal_str(value)
                except ValueError:
                    log.warning("entry %s has an invalid %s hash; skipped", record.entry_id, name)
                    continue
                held = by_hash.get(value)
                if held is None or (record.category, record.entry_id) < (
                    held.category,
                    held.entry_id,
                ):
                    by_hash[value] = record
            if by_hash:
                out[kind] = by_hash
        return out


class _HashedLines:
    """The lines of a streamed body, hashing and counting its bytes as they pass."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        for chunk in self._chunks:
            self.sha256.update(chunk)
            self.bytes += len(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            yield from lines
        if rest:
            yield rest


def _json_line(raw: bytes, number: int) -> dict[str, t.Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise HotlineExchangeError(f"{DELTA_FILE} line {number} is not JSON") from exc
    if not isinstance(value, dict):
        raise HotlineExchangeError(f"{DELTA_FILE} line {number} is not a JSON object")
    return value


def _apply(
    updates: dict[int, HotlineSignalMetadata | None], line: Mapping[str, t.Any], number: int
) -> None:
    """One delta line into the updates: an addition with a PDQ, a vPDQ or a video's MD5
    becomes a record, a withdrawal `None` (a deletion); an addition with none of them carries
    no signal threatexchange knows."""
    op, entry_id = line.get("op"), line.get("id")
    if not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise HotlineExchangeError(f"{DELTA_FILE} line {number} has no entry id")
    if op == "withdraw":
        updates[entry_id] = None
    elif op == "add":
        pdq, vpdq = line.get("pdq"), _vpdq_signal(line.get("vpdq"), entry_id)
        md5 = line.get("md5")
        # A video is an entry with a vPDQ (even one whose frames are all below quality 50).
        video_md5 = str(md5).lower() if line.get("vpdq") and isinstance(md5, str) else None
        if not pdq and vpdq is None and video_md5 is None:
            return
        quality, added, jurisdictions = (
            line.get("pdq_quality"),
            line.get("added_at"),
            line.get("jurisdictions"),
        )
        updates[entry_id] = HotlineSignalMetadata(
            entry_id=entry_id,
            category=str(line.get("category", "")),
            pdq=str(pdq).lower() if pdq else None,
            pdq_quality=quality if isinstance(quality, int) else None,
            added_at=added if isinstance(added, str) else None,
            jurisdictions=(
                {str(k): str(v) for k, v in jurisdictions.items()}
                if isinstance(jurisdictions, dict)
                else {}
            ),
            vpdq=vpdq,
            video_md5=video_md5,
        )
    else:
        raise HotlineExchangeError(f"{DELTA_FILE} line {number} has an unknown op {op!r}")


def _vpdq_signal(frames: object, entry_id: int) -> str | None:
    """A delta line's vPDQ (`[{frame, quality, pdq, timestamp}, ...]`) as VPDQSignal's signal
    string, written exactly as `hotline.lists.formats_te.vpdq_signal` writes it; None when
    there is none, or no frame reaches the quality threshold (nothing would match)."""
    if not frames:
        return None
    try:
        if not isinstance(frames, list):
            raise TypeError
        rows = [(str(f["pdq"]).lower(), int(f["quality"]), float(f["timestamp"])) for f in frames]
    except (TypeError, KeyError, ValueError):
        log.warning("entry %s has a malformed vPDQ; its video signal is skipped", entry_id)
        return None
    if not any(quality >= VPDQ_QUALITY_THRESHOLD for _, quality, _ in rows):
        return None
    return json.dumps([f"{pdq},{quality},{timestamp:.3f}" for pdq, quality, timestamp in rows])


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _epoch(value: object) -> int:
    """An ISO 8601 time as seconds since the epoch; 0 if absent or unreadable."""
    if not isinstance(value, str):
        return 0
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return 0


# `threatexchange config extensions add hotline_client.te_exchange` loads this.
TX_MANIFEST = ThreatExchangeExtensionManifest(apis=(HotlineSignalExchangeAPI,))
