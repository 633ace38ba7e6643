"""The one navigation of the staff areas: a table of (label, address, action), each entry shown
to whoever `permissions.allowed` lets do its action. The header's staff menu and the tiles of
the staff home are both built from it, so they never disagree with each other or with the
routes (which `require` the same action)."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.security.permissions import Action, Actor, allowed


def N_(message: str) -> str:
    """Mark a message for extraction; templates translate it when they show it."""
    return message


@dataclass(frozen=True)
class NavItem:
    label: str  # a catalog message id
    href: str
    action: Action


STAFF_NAV: tuple[NavItem, ...] = (
    NavItem(N_("Staff"), "/staff", Action.staff_home),
    NavItem(N_("Search"), "/staff/search", Action.queue_view),
    NavItem(N_("Assessment queue"), "/staff/queue", Action.queue_view),
    NavItem(N_("Reports"), "/staff/reports", Action.queue_view),
    NavItem(N_("Grading"), "/staff/grading", Action.image_grade),
    NavItem(N_("Grading review"), "/staff/grading/disagreements", Action.grade_resolve),
    NavItem(N_("Case sets"), "/staff/taskforce", Action.taskforce_grade),
    NavItem(N_("Taskforce QA"), "/staff/taskforce/qa", Action.grade_resolve),
    NavItem(N_("Takedown"), "/staff/takedown", Action.takedown_manage),
    NavItem(N_("Host directory"), "/staff/hosts", Action.takedown_manage),
    NavItem(N_("Time to removal"), "/staff/stats/removal", Action.stats_view),
    NavItem(N_("Managers' dashboard"), "/staff/stats/dashboard", Action.stats_view),
    NavItem(N_("Proactive crawls"), "/staff/crawls", Action.crawl_view),
    NavItem(N_("Your wellbeing"), "/staff/wellbeing", Action.staff_home),
    NavItem(N_("Edit the advice hub"), "/staff/advice", Action.advice_edit),
    NavItem(N_("Staff accounts"), "/staff/users", Action.users_manage),
    NavItem(N_("Members and API keys"), "/staff/members", Action.members_manage),
    NavItem(N_("Lists and releases"), "/staff/lists", Action.lists_manage),
    NavItem(N_("Members' feedback"), "/staff/lists/feedback", Action.lists_manage),
    NavItem(N_("Exchange feeds"), "/staff/exchange-feeds", Action.lists_manage),
    NavItem(N_("Partner hotlines"), "/staff/partners", Action.partners_manage),
    NavItem(N_("Audit log"), "/staff/audit", Action.audit_view),
)


def items_for(actor: Actor | None) -> list[NavItem]:
    """The entries this actor may open (none before sign-in and two-factor)."""
    return [item for item in STAFF_NAV if allowed(actor, item.action)]
