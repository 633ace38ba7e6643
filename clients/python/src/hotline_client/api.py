"""The match API, `POST {base_url}/api/v1/match`, from a member's own code: sync and async.

    with MatchClient("https://hotline.example.org", "hlk_…") as client:
        result = client.match_hash("pdq", "f8f8…")
        for match in result.matches:
            print(match.list, match.entry_id, match.category, match.distance)

Every error the server answers (one shape: `{"error": {"code", "message", "fields"?}}`)
raises `MatchError` with the status, code and message; a 429 carries `retry_after` seconds
when the server sent `Retry-After`. Files are uploaded as multipart and hashed by the
server, which never keeps them; hashes travel as JSON (at most 1,000 a call).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

MATCH_PATH = "/api/v1/match"
MAX_BATCH = 1000
USER_AGENT = "hotline-client/0.1"


@dataclass(frozen=True, slots=True)
class Match:
    list: str
    entry_id: int
    category: str
    distance: int  # bits for PDQ; 100 minus the query's matched frame share for vPDQ
    signal: str  # md5, sha1, sha256, pdq, vpdq or a plug-in signal type


@dataclass(frozen=True, slots=True)
class MatchResult:
    index: int
    type: str  # the query's hash type, or "upload"
    matches: tuple[Match, ...]
    truncated: bool
    lists: tuple[tuple[str, int], ...] = ()  # (list, version) searched

    @property
    def matched(self) -> bool:
        return bool(self.matches)


class MatchError(Exception):
    """The server refused the call, or it could not be made (`status` None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        fields: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = dict(fields or {})
        self.retry_after = retry_after


def _hashes_body(hashes: Iterable[tuple[str, str]]) -> dict[str, Any]:
    items = [{"type": kind, "value": value} for kind, value in hashes]
    if not items:
        raise ValueError("give at least one hash")
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} hashes a call")
    return {"hashes": items}


def _params(lists: Sequence[str] | None) -> httpx.QueryParams:
    return httpx.QueryParams([("list", name) for name in lists or ()])


def _error(response: httpx.Response) -> MatchError:
    code = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    fields: Mapping[str, Any] = {}
    try:
        error = response.json().get("error", {})
        code, message = error.get("code"), error.get("message", message)
        fields = error.get("fields") or {}
    except (ValueError, AttributeError):
        pass
    retry = response.headers.get("retry-after", "")
    return MatchError(
        f"HTTP {response.status_code}{f' {code}' if code else ''}: {message}",
        status=response.status_code,
        code=code,
        fields=fields,
        retry_after=float(retry) if retry.replace(".", "", 1).isdigit() else None,
    )


def _results(response: httpx.Response) -> list[MatchResult]:
    if not response.is_success:
        raise _error(response)
    try:
        body = response.json()
        lists = tuple((str(v["name"]), int(v["version"])) for v in body.get("lists", []))
        return [
            MatchResult(
                index=int(r["index"]),
                type=str(r["type"]),
                matches=tuple(
                    Match(
                        str(m["list"]),
                        int(m["entry_id"]),
                        str(m["category"]),
                        int(m["distance"]),
                        str(m["signal"]),
                    )
                    for m in r["matches"]
                ),
                truncated=bool(r.get("truncated", False)),
                lists=lists,
            )
            for r in body["results"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MatchError(f"the server's answer is not a match result ({exc})") from exc


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT}


class MatchClient:
    """Synchronous client. `client` lets a caller bring its own `httpx.Client` (proxies,
    certificates); otherwise one is made for `base_url` and closed by `close()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout)
        self._headers = _headers(api_key)

    def __enter__(self) -> MatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._client.close()

    def _post(self, lists: Sequence[str] | None, **kwargs: Any) -> list[MatchResult]:
        try:
            response = self._client.post(
                MATCH_PATH, params=_params(lists), headers=self._headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise MatchError(f"cannot reach the match API: {exc}") from exc
        return _results(response)

    def match_hash(
        self, kind: str, value: str, *, lists: Sequence[str] | None = None
    ) -> MatchResult:
        """One hash: `kind` is md5, sha1, sha256, pdq or a plug-in signal type's name."""
        return self._post(lists, json={kind: value})[0]

    def match_hashes(
        self, hashes: Iterable[tuple[str, str]], *, lists: Sequence[str] | None = None
    ) -> list[MatchResult]:
        """Up to 1,000 (kind, value) pairs; one result each, in order."""
        return self._post(lists, json=_hashes_body(hashes))

    def match_file(
        self, data: bytes, *, filename: str = "upload", lists: Sequence[str] | None = None
    ) -> MatchResult:
        """An image or a video, hashed by the server (PDQ, digests, a video's vPDQ)."""
        return self._post(lists, files={"file": (filename, data)})[0]


class AsyncMatchClient:
    """The same calls for asyncio, on `httpx.AsyncClient`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._headers = _headers(api_key)

    async def __aenter__(self) -> AsyncMatchClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def _post(self, lists: Sequence[str] | None, **kwargs: Any) -> list[MatchResult]:
        try:
            response = await self._client.post(
                MATCH_PATH, params=_params(lists), headers=self._headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise MatchError(f"cannot reach the match API: {exc}") from exc
        return _results(response)

    async def match_hash(
        self, kind: str, value: str, *, lists: Sequence[str] | None = None
    ) -> MatchResult:
        return (await self._post(lists, json={kind: value}))[0]

    async def match_hashes(
        self, hashes: Iterable[tuple[str, str]], *, lists: Sequence[str] | None = None
    ) -> list[MatchResult]:
        return await self._post(lists, json=_hashes_body(hashes))

    async def match_file(
        self, data: bytes, *, filename: str = "upload", lists: Sequence[str] | None = None
    ) -> MatchResult:
        return (await self._post(lists, files={"file": (filename, data)}))[0]
