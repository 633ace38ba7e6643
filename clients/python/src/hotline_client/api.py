"""The match API, `POST {base_url}/api/v1/match`, from a member's own code: sync and async.

    with MatchClient("https://hotline.example.org", "hlk_…") as client:
        result = client.match_hash("pdq", "f8f8…")
        for match in result.matches:
            print(match.list, match.entry_id, match.category, match.distance)

Every error the server answers (one shape: `{"error": {"code", "message", "fields"?}}`)
raises `MatchError` with the status, code, message and `fields` (one `FieldProblem` per
`{"field", "message"}` the server listed); a 429 carries `retry_after` seconds when the server
sent `Retry-After`. Results and errors alike carry `meta`: the call's `X-Request-ID` (quote it
when you ask the hotline about a call) and the `RateLimit-*` headers, when the server sent them.
Files are uploaded as multipart and hashed by the server, which never keeps them; hashes
travel as JSON (at most 1,000 a call).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

MATCH_PATH = "/api/v1/match"
MAX_BATCH = 1000
USER_AGENT = "hotline-client/0.1"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The tightest rate limit the call counted against (`RateLimit-*` headers)."""

    limit: int
    remaining: int
    reset: int  # seconds until `remaining` is back to `limit`


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """What every answer's headers say about the call itself."""

    request_id: str | None = None  # X-Request-ID: the server's name for this call
    rate_limit: RateLimit | None = None


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One `{"field", "message"}` of the server's error: which input, and what is wrong."""

    field: str
    message: str


def _meta(response: httpx.Response) -> ResponseMeta:
    headers = response.headers
    numbers = [headers.get(f"ratelimit-{n}", "") for n in ("limit", "remaining", "reset")]
    limit = RateLimit(*map(int, numbers)) if all(n.isdigit() for n in numbers) else None
    return ResponseMeta(headers.get("x-request-id"), limit)


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
    meta: ResponseMeta = ResponseMeta()  # the same for every result of one call

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
        fields: Sequence[FieldProblem] = (),
        retry_after: float | None = None,
        meta: ResponseMeta | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = tuple(fields)
        self.retry_after = retry_after
        self.meta = meta or ResponseMeta()

    @property
    def request_id(self) -> str | None:
        return self.meta.request_id


def _hashes_body(hashes: Iterable[tuple[str, str]]) -> dict[str, Any]:
    items = [{"type": kind, "value": value} for kind, value in hashes]
    if not items:
        raise ValueError("give at least one hash")
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} hashes a call")
    return {"hashes": items}


def _params(lists: Sequence[str] | None) -> httpx.QueryParams:
    return httpx.QueryParams([("list", name) for name in lists or ()])


def _fields(raw: object) -> tuple[FieldProblem, ...]:
    """The server's `fields`: a list of `{"field", "message"}`; anything else is dropped."""
    if not isinstance(raw, list):
        return ()
    return tuple(
        FieldProblem(str(item["field"]), str(item.get("message", "")))
        for item in raw
        if isinstance(item, dict) and "field" in item
    )


def _error(response: httpx.Response) -> MatchError:
    code = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    fields: tuple[FieldProblem, ...] = ()
    try:
        error = response.json().get("error", {})
        code, message = error.get("code"), error.get("message", message)
        fields = _fields(error.get("fields"))
    except (ValueError, AttributeError):
        pass
    retry = response.headers.get("retry-after", "")
    return MatchError(
        f"HTTP {response.status_code}{f' {code}' if code else ''}: {message}",
        status=response.status_code,
        code=code,
        fields=fields,
        retry_after=float(retry) if retry.replace(".", "", 1).isdigit() else None,
        meta=_meta(response),
    )


def _results(response: httpx.Response) -> list[MatchResult]:
    if not response.is_success:
        raise _error(response)
    meta = _meta(response)
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
                meta=meta,
            )
            for r in body["results"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MatchError(f"the server's answer is not a match result ({exc})", meta=meta) from exc


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
