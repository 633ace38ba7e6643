"""No route handler blocks the event loop.

An `async def` handler runs on the event loop: while it hashes a password or waits on a
synchronous database session, every other request waits too. Handlers are plain `def`
(FastAPI runs them in its thread pool) unless they must await something (a request body, a
stream); then their blocking part goes through `run_in_threadpool`. This test walks every
route of a fully mounted app, endpoint and dependencies: each coroutine function must be on
ASYNC_ALLOWED with its reason, and a source check refuses direct database, password or
`receive` calls in it, so a new blocking async handler fails here.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from hotline.config import load_settings
from hotline.web.app import create_app
from tests.conftest import TEST_SECRET

ASYNC_ALLOWED = {
    "hotline.web.csrf.csrf_guard": "awaits the form body; the check is one HMAC comparison",
    "hotline.web.csrf.posted_form": "awaits the form body for the sync handlers that take it",
    "hotline.takedown.hosts_pages.import_upload": "awaits the spooled upload's read and "
    "close; the import runs in the thread pool",
    "hotline.matching.api.match": "awaits the body or stream under a size cap; the key check "
    "(inline only on SQLite with in-memory limits), search and audit run on threads",
    # HMA's lookup API: the match API's key check (`admit_async`), one hash searched in the
    # in-memory index (a refresh that reads the database goes to a thread), audit queued.
    "hotline.matching.hma.lookup": "key check as the match API's; an in-memory search",
    "hotline.matching.hma.raw_lookup": "key check as the match API's; an in-memory search",
    "hotline.matching.hma.bank_index": "key check as the match API's; the lists in memory",
    "hotline.matching.hma.bank_show": "key check as the match API's; the lists in memory",
    "hotline.lists.api.delta": "the member check and the delta run in the thread pool",
    "hotline.exchange.api.receive_report": "awaits the capped body; the work runs in the "
    "thread pool",
    "hotline.exchange.api.receive_status": "awaits the capped body; the work runs in the "
    "thread pool",
    "hotline.intake.api.create_report": "awaits the capped body; the limit check, write and "
    "audit run in the thread pool",
    "hotline.lists.feedback_api.entry_feedback": "awaits the capped body; the key check, "
    "write and audit run in the thread pool",
    "hotline.notify.api.register_webhook": "awaits the capped body; the key check, write and "
    "audit run in the thread pool",
}

# Async handlers known to still block, listed so they are seen (none today); checked to be
# still async, so an entry goes once converted.
STILL_BLOCKING: dict[str, str] = {}

# Calls that block when made on the event loop, looked for in an async handler's own body: not
# when awaited, nor inside the nested functions and lambdas it hands to a thread.
_BLOCKING_CALLS = {"get_db", "write", "read", "receive", "hash_password", "verify", "ping"}


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _routes(routes: list[Any], inherited: list[Any]) -> Iterator[tuple[APIRoute, list[Any]]]:
    """Every APIRoute, with the dependencies of the routers that include it."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            context = getattr(route, "include_context", None)
            deps = list(getattr(context, "dependencies", None) or [])
            yield from _routes(included.routes, inherited + deps)
        elif isinstance(route, APIRoute):
            yield route, inherited


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _async_callables(app: FastAPI) -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for route, router_deps in _routes(app.routes, []):
        calls = [route.endpoint, *_calls(route.dependant)]
        calls += [d.dependency for d in router_deps if d.dependency is not None]
        for fn in calls:
            if inspect.iscoroutinefunction(fn):
                found[_name(fn)] = fn
    return found


def _direct_blocking_calls(fn: Callable[..., Any]) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    body = tree.body[0]
    assert isinstance(body, ast.AsyncFunctionDef)
    found = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue  # handed to a thread, not run here
            if isinstance(child, ast.Await) and isinstance(child.value, ast.Call):
                visit(child.value)  # an awaited call yields the loop; look at its arguments
                continue
            if isinstance(child, ast.Call):
                func = child.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in _BLOCKING_CALLS:
                    found.add(name)
            visit(child)

    visit(body)
    return found


def _full_app(tmp_path: Path) -> FastAPI:
    settings = load_settings(
        mode="development",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'hotline.db'}",
        secret_key=TEST_SECRET,
        components="public,staff,api",
    )
    return create_app(settings)


def test_every_async_handler_is_allowed_with_a_reason(tmp_path: Path) -> None:
    found = _async_callables(_full_app(tmp_path))
    unexplained = sorted(set(found) - set(ASYNC_ALLOWED) - set(STILL_BLOCKING))
    assert not unexplained, (
        f"async handlers or dependencies that may block the event loop: {unexplained}. Make "
        "them plain `def` (FastAPI runs those in its thread pool), take a form through "
        "hotline.web.csrf.PostedForm, or await only and hand the rest to run_in_threadpool; "
        "then, if still async, add them to ASYNC_ALLOWED with the reason."
    )
    stale = sorted((set(ASYNC_ALLOWED) | set(STILL_BLOCKING)) - set(found))
    assert not stale, f"no longer async (or gone): remove from the lists: {stale}"


def test_allowed_async_handlers_make_no_blocking_call_themselves(tmp_path: Path) -> None:
    found = _async_callables(_full_app(tmp_path))
    blocking = {
        name: sorted(calls)
        for name in ASYNC_ALLOWED
        if name in found and (calls := _direct_blocking_calls(found[name]))
    }
    assert not blocking, f"blocking calls on the event loop: {blocking}"


def test_the_source_check_sees_a_blocking_call() -> None:
    async def handler(request: Any) -> None:
        with request.app.state.db.write():
            pass

    async def handed_off(request: Any, run_in_threadpool: Any) -> None:
        await run_in_threadpool(lambda: request.app.state.db.write())

    async def awaits(request: Any) -> None:
        await request.read()

    assert _direct_blocking_calls(handler) == {"write"}
    assert _direct_blocking_calls(awaits) == set()
    assert _direct_blocking_calls(handed_off) == set()
