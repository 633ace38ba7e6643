"""Admin pages for the exchange: partner hotlines (list, add, set a partner's key, enable,
disable), our exchange key (public key, key id, the retired keys; rotate it) to hand to
partners, and what has been forwarded and received. Every change goes through
`exchange.actions` (permission, write, audit) and is confirmed on the page it lands on
(web.flash); a refusal shows the page again, translated, with what was typed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.config import Settings
from hotline.errors import N_, AppError, translate
from hotline.exchange import actions, forwarding, inbound, partners, protocol
from hotline.security.permissions import Action, Actor
from hotline.web import i18n
from hotline.web.confirmation import require_confirmation
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings, require
from hotline.web.flash import redirect_with_flash
from hotline.web.templating import render

router = APIRouter(prefix="/staff/partners", include_in_schema=False)

_MANAGE = Depends(require(Action.partners_manage))
_HERE = "/staff/partners"


def _context(
    session: Session, settings: Settings, actor: Actor, found: list[partners.Partner]
) -> dict[str, Any]:
    names = {p.id: p.name for p in found}
    return {
        "items": found,
        "our_name": settings.organisation_name,
        "name_ok": protocol.valid_name(settings.organisation_name),
        "our_key": actions.our_key(session, actor, settings.secret),  # made on first view
        "key_history": actions.key_history(session, actor),
        "forwards": forwarding.recent(session, names),
        "inbound": inbound.recent(session, names),
        "errors": {},
        "summary": [],
        "values": {},
        "key_form": None,
        "form": "",
    }


def _refused(request: Request, actor: Actor, exc: AppError, **extra: Any) -> Response:
    """The page again (the view audited as ever), the refusal in the page's language."""
    with get_db(request).write() as session:
        context = _context(
            session, get_settings(request), actor, actions.view_partners(session, actor)
        )
    context["summary"] = [translate(exc.message, i18n.gettext_)]
    context["errors"] = {f.field: translate(f.message, i18n.gettext_) for f in exc.fields}
    context.update(extra)
    return render(request, "exchange/partners.html", context, status_code=exc.status)


@router.get("", response_class=HTMLResponse)
def partner_list(request: Request, actor: Actor = _MANAGE) -> Response:
    with get_db(request).write() as session:
        context = _context(
            session, get_settings(request), actor, actions.view_partners(session, actor)
        )
    return render(request, "exchange/partners.html", context)


@router.post("", response_class=HTMLResponse)
def partner_add(request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm) -> Response:
    values = {k: str(form.get(k, ""))[:500] for k in ("name", "countries", "url", "public_key")}
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
        return _refused(request, actor, exc, values=values, form="add")
    return redirect_with_flash(request, _HERE, "partner.added")


def _confirmed(form: FormData) -> None:
    """A rotation strands every partner until each has the new key: the box must be ticked."""
    require_confirmation(
        form,
        N_("the key was not rotated: confirm that each partner will get the new key"),
        N_("tick this box to rotate the key"),
    )


@router.post("/key/rotate", response_class=HTMLResponse)
def our_key_rotate(
    request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm
) -> Response:
    try:
        _confirmed(form)
        with get_db(request).write() as session:
            actions.rotate_key(session, actor, get_settings(request).secret)
    except AppError as exc:
        return _refused(request, actor, exc, form="rotate")
    return redirect_with_flash(request, _HERE, "exchange.key_rotated")


@router.post("/{partner_id}/key", response_class=HTMLResponse)
def partner_key(
    partner_id: int, request: Request, actor: Actor = _MANAGE, form: FormData = PostedForm
) -> Response:
    typed = str(form.get("public_key", ""))[:500]
    try:
        with get_db(request).write() as session:
            name = partners.get(session, partner_id).name
            actions.set_partner_key(session, actor, name, typed)
    except AppError as exc:
        key_form = {"id": partner_id, "value": typed}
        return _refused(request, actor, exc, key_form=key_form, form="key")
    return redirect_with_flash(request, _HERE, "partner.key_set")


def _set_enabled(request: Request, actor: Actor, partner_id: int, enabled: bool) -> Response:
    try:
        with get_db(request).write() as session:
            name = partners.get(session, partner_id).name
            actions.set_partner_enabled(session, actor, name, enabled)
    except AppError as exc:
        return _refused(request, actor, exc, form="state")
    key = "partner.enabled" if enabled else "partner.disabled"
    return redirect_with_flash(request, _HERE, key)


@router.post("/{partner_id}/disable")
def partner_disable(partner_id: int, request: Request, actor: Actor = _MANAGE) -> Response:
    return _set_enabled(request, actor, partner_id, False)


@router.post("/{partner_id}/enable")
def partner_enable(partner_id: int, request: Request, actor: Actor = _MANAGE) -> Response:
    return _set_enabled(request, actor, partner_id, True)
