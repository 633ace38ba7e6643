"""Admin pages for the exchange: partner hotlines (list, add, enable, disable), our public key
to hand to partners, and what has been forwarded and received."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.config import Settings
from hotline.errors import AppError
from hotline.exchange import actions, forwarding, inbound, partners, protocol
from hotline.security.permissions import Action, Actor
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/partners", include_in_schema=False)


def _context(
    session: Session, settings: Settings, actor: Actor, found: list[partners.Partner]
) -> dict[str, Any]:
    names = {p.id: p.name for p in found}
    return {
        "items": found,
        "our_name": settings.organisation_name,
        "name_ok": protocol.valid_name(settings.organisation_name),
        "our_key": actions.our_key(session, actor, settings.secret),  # made on first view
        "forwards": forwarding.recent(session, names),
        "inbound": inbound.recent(session, names),
        "errors": {},
        "values": {},
    }


@router.get("", response_class=HTMLResponse)
def partner_list(
    request: Request, actor: Actor = Depends(require(Action.partners_manage))
) -> Response:
    with get_db(request).write() as session:
        context = _context(
            session, get_settings(request), actor, actions.view_partners(session, actor)
        )
    return render(request, "exchange/partners.html", context)


@router.post("", response_class=HTMLResponse)
def partner_add(
    request: Request,
    actor: Actor = Depends(require(Action.partners_manage)),
    form: FormData = PostedForm,
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("name", "countries", "url", "public_key")}
    try:
        with get_db(request).write() as session:
            actions.add_partner(
                session,
                actor,
                values["name"],
                values["countries"],
                values["url"],
                values["public_key"],
            )
    except AppError as exc:
        with get_db(request).write() as session:
            context = _context(session, get_settings(request), actor, partners.listing(session))
        context["errors"] = {f.field: f.message for f in exc.fields} or {"name": exc.message}
        context["values"] = values
        return render(request, "exchange/partners.html", context, status_code=exc.status)
    return redirect_with_flash(request, "/staff/partners", "partner.added")


def _set_enabled(request: Request, actor: Actor, partner_id: int, enabled: bool) -> Response:
    with get_db(request).write() as session:
        name = partners.get(session, partner_id).name
        actions.set_partner_enabled(session, actor, name, enabled)
    key = "partner.enabled" if enabled else "partner.disabled"
    return redirect_with_flash(request, "/staff/partners", key)


@router.post("/{partner_id}/disable")
def partner_disable(
    partner_id: int, request: Request, actor: Actor = Depends(require(Action.partners_manage))
) -> Response:
    return _set_enabled(request, actor, partner_id, False)


@router.post("/{partner_id}/enable")
def partner_enable(
    partner_id: int, request: Request, actor: Actor = Depends(require(Action.partners_manage))
) -> Response:
    return _set_enabled(request, actor, partner_id, True)
