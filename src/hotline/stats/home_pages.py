"""The staff home: the tiles of the staff navigation (hotline.web.staff_nav), the counts each
role needs today (hotline.stats.today) and, for those who manage accounts, the lockout notice.
It lives in `stats`, the last tier, because its counts read every capability."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from hotline.security import login_guard
from hotline.security.permissions import Action, Actor, allowed
from hotline.stats import today
from hotline.web.deps import get_db, get_settings, require
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def staff_home(request: Request, actor: Actor = Depends(require(Action.staff_home))) -> Response:
    guarded: list[login_guard.GuardedAccount] = []
    with get_db(request).read() as session:
        counts = today.counts_for(session, actor)
        if allowed(actor, Action.users_manage):  # the lockout notice, for those who can act
            policy = login_guard.LockoutPolicy.from_settings(get_settings(request))
            guarded = login_guard.accounts_with_failures(session, policy)
    return render(request, "staff/home.html", {"counts": counts, "guarded": guarded})
