"""Liveness (the process answers) and readiness (start-up warm-up done, database reachable,
migrations current)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hotline.db import migrate
from hotline.web.app import error_body
from hotline.web.deps import get_db

router = APIRouter(prefix="/healthz", include_in_schema=False)


@router.get("/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


def _not_ready(checks: dict[str, str]) -> JSONResponse:
    # A 503 is an error like any other: the one error shape, plus the checks an operator reads.
    body = error_body("not_ready", "this instance cannot serve yet; see checks")
    return JSONResponse(body | {"status": "not_ready", "checks": checks}, status_code=503)


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    db = get_db(request)
    checks: dict[str, str] = {}
    try:
        db.ping()
        checks["database"] = "ok"
    except Exception:  # any failure to reach the database means not ready
        checks["database"] = "unreachable"
        return _not_ready(checks)
    current, head = migrate.current_revision(db), migrate.head_revision(db)
    checks["migrations"] = "current" if current == head else f"at {current}, head is {head}"
    if current != head:
        return _not_ready(checks)
    warm_up = request.app.state.warm_up
    if not warm_up.ready:  # compiling the kernels: a first match call would wait for them
        checks["warm_up"] = warm_up.state.value
        return _not_ready(checks)
    return JSONResponse({"status": "ready", "checks": checks})
