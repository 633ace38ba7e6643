"""The exchanges a feed pulls from, through python-threatexchange's own clients.

Only imported where the `threatexchange` extra is installed (`feed_run` imports it when a
fetch starts, so the status page and the CLI's other commands work without it).

Each exchange is threatexchange's `SignalExchangeAPI` implementation (NCMEC, StopNCII,
Facebook ThreatExchange, the local file), driven by its own `fetch_iter` and checkpoint.
What hotline changes, and why:

- **Where requests go.** Every HTTP request the clients make passes through `_GuardedAdapter`
  (a `requests` transport adapter): the host is resolved and refused unless every address is
  public (`assess.netguard.resolve_host`, the safe fetcher's rule), so a feed, a paging link
  or a redirect can never reach a private address. Tests allow 127.0.0.0/8 through the
  `FetchPolicy` they hand the worker, as the fetcher's tests do. The base URL each client
  talks to can be set per feed (`base_url`): NCMEC's client takes its URL from a fixed
  environment enum, so a small subclass sets `_base_url`; StopNCII's takes
  `base_url_override`; ThreatExchange's `endpoint_override`.
- **429 is ours to handle.** The clients' own sessions retry 429 and 5xx with urllib3, which
  sleeps whatever `Retry-After` says (a server could hold a worker for hours). Our sessions
  retry 5xx a few times with a short backoff and hand a 429 back as `ExchangeHTTPError` with
  its `Retry-After`; the fetch waits (briefly) or reschedules, then resumes from the stored
  checkpoint.
- **ThreatExchange's client** fetches with a bare `requests.get` (no retry, no timeout) and
  follows whatever `paging.next` URL the server names; ours uses the guarded session and
  refuses a paging link to another origin.
- **StopNCII withdrawals.** threatexchange 1.2.17 compares `hashValue` (not `hashStatus`)
  with Withdrawn/Deleted, so its `fetch_iter` never yields a tombstone; ours reads
  `hashStatus` (the field the API documents) through the same client.

Records become hotline entries here (`Change`): a record key (the exchange's record id),
and a `NewEntry` or None for a tombstone. Hashes are checked by `matching.validation`; a
record with nothing hotline can match on (PhotoDNA, TMK, URLs, text) is skipped and counted.
"""

from __future__ import annotations

import email.utils
import re
import time
import typing as t
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from threatexchange.exchanges import auth
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.ncmec import hash_api as ncmec
from threatexchange.exchanges.clients.stopncii import api as stopncii
from threatexchange.exchanges.clients.utils.common import TimeoutHTTPAdapter
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCheckpoint,
    FBThreatExchangeCollabConfig,
    FBThreatExchangeCredentials,
    FBThreatExchangeSignalExchangeAPI,
)
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.exchanges.impl.ncmec_api import (
    NCMECCheckpoint,
    NCMECCollabConfig,
    NCMECCredentials,
    NCMECSignalExchangeAPI,
)
from threatexchange.exchanges.impl.stop_ncii_api import (
    StopNCIICheckpoint,
    StopNCIICredentials,
    StopNCIISignalExchangeAPI,
    StopNCIISignalMetadata,
)
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.utils import dataclass_json
from urllib3.util.retry import Retry

from hotline.assess.fetcher import FetchPolicy
from hotline.assess.netguard import resolve_host
from hotline.errors import InvalidInput
from hotline.lists.feed_model import FeedError, FeedSettings
from hotline.matching import validation
from hotline.matching.model import NewEntry

REQUEST_TIMEOUT_S = 60
SIGNAL_TYPES = (PdqSignal, VideoMD5Signal)  # what hotline can match an exchange's records on


class ExchangeHTTPError(FeedError):
    """The exchange answered an HTTP error (after the retries for 5xx)."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.http_status = status  # AppError's `status` is the answer hotline's API gives
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Change:
    """One record of a page: its key, and the entry it becomes (None: a tombstone)."""

    key: str
    entry: NewEntry | None


@dataclass(slots=True)
class Page:
    """What one of the client's `FetchDelta`s holds, converted; `checkpoint` is the
    client's checkpoint after it, as threatexchange's dataclass JSON."""

    changes: list[Change] = field(default_factory=list)
    skipped: int = 0
    checkpoint: str = ""
    progress: int | None = None  # the checkpoint's time (Unix seconds), where it has one


# -- requests, guarded --------------------------------------------------------------------


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _GuardedAdapter(TimeoutHTTPAdapter):
    """Refuses a request whose host is or resolves to a non-public address (unless the
    policy allows its network: tests); turns an HTTP error into `ExchangeHTTPError`."""

    def __init__(self, policy: FetchPolicy) -> None:
        retries = Retry(
            total=3,
            status_forcelist=[500, 502, 503, 504],
            allowed_methods=["GET"],
            backoff_factor=0.2,
            respect_retry_after_header=False,  # a 429's wait is the feed's to decide
            raise_on_status=False,
        )
        super().__init__(timeout=REQUEST_TIMEOUT_S, max_retries=retries)
        self._policy = policy

    def send(self, request: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(str(request.url))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise FeedError(f"refused to fetch {url.scheme}://{url.hostname}: not http(s)")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            resolve_host(url.hostname, port, self._policy.resolver, self._policy.allow_networks)
        except Exception as exc:  # BlockedAddress, DNS failures: FetchError
            raise FeedError(f"refused to fetch from {url.hostname}: {exc}") from exc
        response: requests.Response = super().send(request, **kwargs)
        if response.status_code >= 400:
            raise ExchangeHTTPError(
                f"{url.hostname} answered HTTP {response.status_code}",
                status=response.status_code,
                retry_after=_retry_after(response) if response.status_code == 429 else None,
            )
        return response


def _session(policy: FetchPolicy) -> requests.Session:
    session = requests.Session()
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- the clients, pointed and guarded ------------------------------------------------------


class _NCMECClient(ncmec.NCMECHashAPI):
    def __init__(
        self,
        user: str,
        password: str,
        env: ncmec.NCMECEnvironment,
        base_url: str,
        policy: FetchPolicy,
    ) -> None:
        super().__init__(user, password, env)
        self._base_url = base_url.rstrip("/")
        self._policy = policy

    def _get_session(self) -> requests.Session:
        session = _session(self._policy)
        session.auth = (self.username, self.password)
        return session


class _NCMECExchange(NCMECSignalExchangeAPI):
    def __init__(
        self, collab: NCMECCollabConfig, creds: NCMECCredentials, base_url: str, policy: FetchPolicy
    ) -> None:
        super().__init__(collab, creds.user, creds.password)
        self._base_url = base_url
        self._policy = policy

    def get_client(self, environment: ncmec.NCMECEnvironment) -> ncmec.NCMECHashAPI:
        if not ncmec.is_valid_user_pass(self._username, self._password):
            raise FeedError("NCMEC user name and password are not set (TX_NCMEC_CREDENTIALS)")
        return _NCMECClient(
            self._username, self._password, environment, self._base_url, self._policy
        )


class _StopNCIIClient(stopncii.StopNCIIAPI):
    def __init__(self, creds: StopNCIICredentials, base_url: str, policy: FetchPolicy) -> None:
        super().__init__(
            creds.subscription_key, creds.fetch_function_key, base_url_override=base_url
        )
        self._policy = policy

    def _get_session(self, endpoint: stopncii.StopNCIIEndpoint) -> requests.Session:
        key = self._function_keys.get(endpoint)
        if not key:
            raise FeedError(f"no StopNCII function key for {endpoint.value}")
        session = _session(self._policy)
        session.headers.update(
            {"x-functions-key": key, "Ocp-Apim-Subscription-Key": self._subscription_key}
        )
        return session


_STOPNCII_GONE = (stopncii.StopNCIICaseStatus.Withdrawn, stopncii.StopNCIICaseStatus.Deleted)
_STOPNCII_TYPES = {
    stopncii.StopNCIISignalType.ImagePDQ: PdqSignal.get_name(),
    stopncii.StopNCIISignalType.VideoMD5: VideoMD5Signal.get_name(),
}


class _StopNCIIExchange(StopNCIISignalExchangeAPI):
    def fetch_iter(
        self, _supported: Sequence[type[Any]], checkpoint: StopNCIICheckpoint | None
    ) -> Iterator[state.FetchDelta[tuple[str, str], StopNCIISignalMetadata, StopNCIICheckpoint]]:
        start = (
            stopncii.StopNCIIAPI.DEFAULT_START_TIME
            if checkpoint is None
            else checkpoint.update_time
        )
        for result in self.api.fetch_hashes_iter(start_timestamp=start):
            updates: dict[tuple[str, str], StopNCIISignalMetadata | None] = {}
            for record in result.hashRecords:
                kind = _STOPNCII_TYPES.get(record.signalType, record.signalType.value)
                gone = record.hashStatus in _STOPNCII_GONE
                updates[kind, record.hashValue] = (
                    None if gone else StopNCIISignalMetadata(record.CSPFeedbacks)
                )
            yield state.FetchDelta(updates, StopNCIICheckpoint.from_stopncii_fetch(result))


class _TEClient(ThreatExchangeAPI):
    def __init__(self, token: str, base_url: str, policy: FetchPolicy) -> None:
        super().__init__(token, endpoint_override=base_url.rstrip("/"))
        self._policy = policy
        self._origin = urlsplit(self._base_url)[:2]

    def get_json_from_url(self, url: str, params: Any = None, *, json_obj_hook: Any = None) -> Any:
        if urlsplit(url)[:2] != self._origin:
            raise FeedError("ThreatExchange's paging link points at another server; refused")
        with _session(self._policy) as session:
            response = session.get(url, params=params or {})
            return response.json(object_hook=json_obj_hook)


# -- from a feed's settings to a client ----------------------------------------------------


def _credentials(helper: type[auth.CredentialHelper], api_cls: type[Any]) -> Any:
    """threatexchange's own credential lookup: its environment variable, else its file."""
    try:
        return helper.get(api_cls)
    except (
        auth.SignalExchangeAPIInvalidAuthException,
        auth.SignalExchangeAPIMissingAuthException,
    ) as exc:
        found = "invalid" if isinstance(exc, auth.SignalExchangeAPIInvalidAuthException) else "no"
        raise FeedError(
            f"{found} credentials for {api_cls.get_name()}: set {helper.ENV_VARIABLE} "
            f"(or the file {helper.FILE_NAME}); see docs/exchanges.md"
        ) from exc


def _ncmec_environment(name: str) -> ncmec.NCMECEnvironment:
    try:
        return ncmec.NCMECEnvironment[name]
    except KeyError as exc:
        raise FeedError(f"unknown NCMEC environment {name!r}") from exc


def _ncmec(settings: FeedSettings, policy: FetchPolicy) -> _NCMECExchange:
    env = _ncmec_environment(settings.environment or "NGO")
    collab = NCMECCollabConfig(name="hotline", environment=env)
    creds = _credentials(NCMECCredentials, NCMECSignalExchangeAPI)
    return _NCMECExchange(collab, creds, settings.base_url or env.value, policy)


def _stopncii(settings: FeedSettings, policy: FetchPolicy) -> _StopNCIIExchange:
    creds = _credentials(StopNCIICredentials, StopNCIISignalExchangeAPI)
    base = settings.base_url or creds.base_url_override or stopncii.StopNCIIAPI.BASE_URL
    client = _StopNCIIClient(creds, base, policy)
    return _StopNCIIExchange(CollaborationConfigBase("hotline", "stopncii", True), client)


def _threatexchange(
    settings: FeedSettings, policy: FetchPolicy
) -> FBThreatExchangeSignalExchangeAPI:
    creds = _credentials(FBThreatExchangeCredentials, FBThreatExchangeSignalExchangeAPI)
    collab = FBThreatExchangeCollabConfig(name="hotline", privacy_group=settings.privacy_group or 0)
    base = settings.base_url or ThreatExchangeAPI._TE_BASE_URL
    return FBThreatExchangeSignalExchangeAPI(_TEClient(creds.api_token, base, policy), collab)


def _file(settings: FeedSettings, policy: FetchPolicy) -> LocalFileSignalExchangeAPI:
    return LocalFileSignalExchangeAPI(
        FileCollaborationConfig(name="hotline", filename=settings.filename or "")
    )


_OPENERS: dict[str, t.Callable[[FeedSettings, FetchPolicy], Any]] = {
    "ncmec": _ncmec,
    "stopncii": _stopncii,
    "fb_threatexchange": _threatexchange,
    "file": _file,
}


def open_exchange(api: str, settings: FeedSettings, policy: FetchPolicy) -> Any:
    """threatexchange's `SignalExchangeAPI` for a feed, pointed at its base URL."""
    opener = _OPENERS.get(api)
    if opener is None:
        raise FeedError(f"unknown exchange {api!r}")
    return opener(settings, policy)


def load_checkpoint(api: str, text: str | None) -> state.FetchCheckpointBase | None:
    if text is None:
        return None
    cls = _CHECKPOINTS.get(api)
    if cls is None:
        return None  # the file exchange keeps no checkpoint: every fetch reads the whole file
    try:
        return t.cast(state.FetchCheckpointBase, dataclass_json.dataclass_loads(text, cls))
    except Exception as exc:
        raise FeedError(f"the stored checkpoint cannot be read: {exc}") from exc


_CHECKPOINTS: dict[str, type[Any]] = {
    "ncmec": NCMECCheckpoint,
    "stopncii": StopNCIICheckpoint,
    "fb_threatexchange": FBThreatExchangeCheckpoint,
}


def dump_checkpoint(checkpoint: state.FetchCheckpointBase) -> str:
    return dataclass_json.dataclass_dumps(checkpoint)


# -- records into entries ------------------------------------------------------------------


_HEX_LENGTHS = {"md5": 32, "sha1": 40, "pdq": 64}
_HEX = re.compile(r"[0-9a-f]+")


def _hash(kind: str, value: object) -> str | None:
    """The hash in canonical form, or None if it is not one. Plain lower-case hex of the
    right length is canonical already (the common case, checked fast: a big first fetch
    has a million); anything else goes through `matching.validation`."""
    if isinstance(value, str) and len(value) == _HEX_LENGTHS[kind] and _HEX.fullmatch(value):
        return value
    try:
        return validation.hash_value(kind, value).value
    except InvalidInput:
        return None


def _entry(category: str, source: str, hashes: Mapping[str, str | None]) -> NewEntry | None:
    kept = {k: v for k, v in hashes.items() if v}
    if not kept:
        return None
    return NewEntry(
        category=category,
        md5=kept.get("md5"),
        sha1=kept.get("sha1"),
        pdq=kept.get("pdq"),
        source=source,
    )


_PLAIN = re.compile(r"[A-Za-z0-9._-]+")


def _quoted(text: str, safe: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote(text, safe=safe)


def _source(api: str, feed: str, key: str) -> str:
    """Provenance as the file imports write it: `EXCHANGE:FEED#record=KEY`."""
    kind, colon, rest = key.partition(":")
    encoded = f"{_quoted(kind, '')}%3A{_quoted(rest, '')}" if colon else _quoted(key, "")
    return f"{api}:{_quoted(feed, '._-')}#record={encoded}"


def _ncmec_change(feed: str, category: str, key: str, update: Any) -> Change | None:
    if update is None or update.deleted:
        return Change(key, None)
    prints = update.fingerprints
    hashes: dict[str, str | None] = {"md5": _hash("md5", prints.get("md5"))}
    hashes["sha1"] = _hash("sha1", prints.get("sha1"))
    if update.entry_type is ncmec.NCMECEntryType.image:
        hashes["pdq"] = _hash("pdq", prints.get("pdq"))
    entry = _entry(category, _source("ncmec", feed, key), hashes)
    return None if entry is None else Change(key, entry)


_SIGNAL_COLUMNS = {
    PdqSignal.get_name(): "pdq",
    VideoMD5Signal.get_name(): "md5",
    # ThreatExchange's indicator types
    "HASH_PDQ": "pdq",
    "HASH_MD5": "md5",
    "HASH_VIDEO_MD5": "md5",
}


def _keyed_change(
    api: str, feed: str, category: str, kind: str, value: str, record: object
) -> Change | None:
    column = _SIGNAL_COLUMNS.get(kind)
    if column is None:
        return None
    key = f"{kind}:{value}"
    if record is None:
        return Change(key, None)
    entry = _entry(category, _source(api, feed, key), {column: _hash(column, value)})
    return None if entry is None else Change(key, entry)


def convert(api: str, feed: str, category: str, delta: state.FetchDelta[Any, Any, Any]) -> Page:
    """One of the client's deltas as hotline changes (records it cannot use: skipped)."""
    page = Page()
    for key, record in delta.updates.items():
        if api == "ncmec":
            change = _ncmec_change(feed, category, str(key), record)
        else:
            kind, value = key
            change = _keyed_change(api, feed, category, str(kind), str(value), record)
        if change is None:
            page.skipped += 1
        else:
            page.changes.append(change)
    checkpoint = delta.checkpoint
    if api in _CHECKPOINTS:
        page.checkpoint = dump_checkpoint(checkpoint)
        progress = checkpoint.get_progress_timestamp()
        page.progress = int(progress) if progress is not None else None
    return page


_SECRET_PARAM = re.compile(r"(access_token|token|key|password)=[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """A message with credentials in URLs blanked out: it goes to the status page and the
    audit log."""
    return _SECRET_PARAM.sub(r"\1=REDACTED", text)


def fetch_pages(
    api: str, exchange: Any, checkpoint: state.FetchCheckpointBase | None, feed: str, category: str
) -> Iterator[Page]:
    """The client's fetch from `checkpoint`, page by page, converted."""
    try:
        for delta in exchange.fetch_iter(list(SIGNAL_TYPES), checkpoint):
            yield convert(api, feed, category, delta)
    except (FeedError, InvalidInput):
        raise
    except AssertionError as exc:  # the file exchange asserts that its file exists, too
        # ThreatExchange's client asserts each answer has data ("empty update?"); an empty
        # answer is what a group with nothing new sends, so it ends the fetch, not fails it.
        if api == "fb_threatexchange" and "empty update" in str(exc):
            return
        raise FeedError(f"the exchange failed: {exc or type(exc).__name__}") from exc
    except requests.exceptions.JSONDecodeError as exc:
        raise FeedError(
            f"the exchange answered JSON that cannot be read (truncated?): {exc}"
        ) from exc
    except requests.RequestException as exc:
        # requests names the URL, and ThreatExchange's carries the token in its query.
        raise FeedError(f"the request failed: {type(exc).__name__}: {redact(str(exc))}") from exc
    except ET.ParseError as exc:
        raise FeedError(
            f"the exchange answered XML that cannot be read (truncated?): {exc}"
        ) from exc
    except OSError as exc:
        raise FeedError(f"the exchange failed: {exc or type(exc).__name__}") from exc
    except Exception as exc:  # a client's parse failure (dacite, KeyError on a bad shape)
        raise FeedError(
            f"the exchange's answer has an unexpected shape: {type(exc).__name__}: {exc}"
        ) from exc


def now_s() -> int:
    return int(time.time())
