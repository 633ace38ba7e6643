"""Liveness (the process answers) and readiness (database reachable, migrations current)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hotline.db import migrate
from hotline.web.deps import get_db

router = APIRouter(prefix="/healthz", include_in_schema=False)


@router.get("/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    db = get_db(request)
    checks: dict[str, str] = {}
    try:
        db.ping()
        checks["database"] = "ok"
    except Exception:  # any failure to reach the database means not ready
        checks["database"] = "unreachable"
        return JSONResponse({"status": "not_ready", "checks": checks}, status_code=503)
    current, head = migrate.current_revision(db), migrate.head_revision(db)
    checks["migrations"] = "current" if current == head else f"at {current}, head is {head}"
    ok = current == head
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
    )
