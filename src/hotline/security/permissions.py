"""Roles and the one permission check: `allowed(actor, action, resource)`.

Every route and command asks this function; none checks roles itself. Which role may do what
is data (ROLE_ACTIONS), so a hotline can read it in one place.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from enum import StrEnum

from hotline.errors import N_, TranslatableError


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    senior_analyst = "senior_analyst"
    takedown_officer = "takedown_officer"
    taskforce_grader = "taskforce_grader"
    content_editor = "content_editor"


class Action(StrEnum):
    staff_home = "staff.home"
    queue_view = "queue.view"
    report_assess = "report.assess"
    image_grade = "image.grade"
    grade_resolve = "grade.resolve"
    taskforce_grade = "taskforce.grade"
    # Grade a case set's clusters: claim, reveal, grade the representative, confirm or split
    # out members, undo (hotline.taskforce.grading).
    taskforce_cluster_grade = "taskforce.cluster_grade"
    takedown_manage = "takedown.manage"
    stats_view = "stats.view"
    partners_manage = "partners.manage"
    advice_edit = "advice.edit"
    users_manage = "users.manage"
    audit_view = "audit.view"
    media_purge = "media.purge"  # delete stored media past retention (`hotline media purge`)
    lists_manage = "lists.manage"  # hash, URL and keyword lists: entries, imports, signing keys
    members_manage = "members.manage"  # industry members and their API keys
    crawl_view = "crawl.view"  # proactive crawls' progress and yield
    crawl_manage = "crawl.manage"  # start and stop crawls, the crawl allow-list


_ANALYST = {Action.staff_home, Action.queue_view, Action.report_assess, Action.image_grade}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.analyst: frozenset(_ANALYST),
    Role.senior_analyst: frozenset(
        _ANALYST
        | {
            Action.grade_resolve,
            Action.audit_view,
            Action.stats_view,
            Action.crawl_view,
            Action.crawl_manage,
        }
    ),
    Role.taskforce_grader: frozenset(
        {Action.staff_home, Action.taskforce_grade, Action.taskforce_cluster_grade}
    ),
    Role.takedown_officer: frozenset(
        {Action.staff_home, Action.queue_view, Action.takedown_manage, Action.stats_view}
    ),
    Role.content_editor: frozenset({Action.staff_home, Action.advice_edit}),
    # Admins run the system and oversee its operations: accounts, members, lists, partners,
    # retention, the audit log, takedown (URLs and hosts, never media) and the public advice.
    # They never assess or grade (pages that show media) unless also given a grading role
    # (docs/roles.md).
    Role.admin: frozenset(
        {
            Action.staff_home,
            Action.users_manage,
            Action.audit_view,
            Action.queue_view,
            Action.stats_view,
            Action.partners_manage,
            Action.media_purge,
            Action.lists_manage,
            Action.members_manage,
            Action.crawl_view,
            Action.takedown_manage,
            Action.advice_edit,
        }
    ),
}


@dataclass(frozen=True)
class Actor:
    """A signed-in staff member as permission checks see them."""

    id: int
    username: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    mfa_passed: bool = False

    @classmethod
    def operator(cls, os_user: str | None = None) -> Actor:
        """Whoever runs `hotline` on the server: they hold the database and the secret key
        already, so they are trusted with every role. Id 0 is no account, so the "not your
        own account" rule never stops them; audited as "cli:<os user>"."""
        if os_user is None:
            try:
                os_user = getpass.getuser()
            except (OSError, KeyError):  # no login name in some containers
                os_user = "unknown"
        return cls(0, f"cli:{os_user}", frozenset(Role), mfa_passed=True)


class UnknownRoles(TranslatableError, ValueError):
    """Names that are not roles; the message names them and the known ones."""


def parse_roles(text: str) -> frozenset[Role]:
    """'analyst,admin' -> roles; unknown names raise UnknownRoles (a ValueError) naming them."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in Role.__members__]
    if unknown:
        raise UnknownRoles(
            N_(
                "unknown role(s): %(unknown)s; known: %(known)s",
                unknown=", ".join(unknown),
                known=", ".join(Role),
            )
        )
    return frozenset(Role(n) for n in names)


def allowed(actor: Actor | None, action: Action, resource: object | None = None) -> bool:
    """May this actor do this action (to this resource)? Anonymous visitors may do nothing here;
    public pages need no permission."""
    if actor is None or not actor.mfa_passed:
        return False
    if not any(action in ROLE_ACTIONS[role] for role in actor.roles):
        return False
    # Resource rules: nobody disables or demotes their own account (keeps one admin standing).
    own_account = isinstance(resource, Actor) and resource.id == actor.id
    return not (action is Action.users_manage and own_account)
