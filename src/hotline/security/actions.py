"""Staff-account use cases: one function per action, called alike by the staff pages and the
`hotline user` commands (docs/architecture.md, "Actions").

Each action runs in the caller's transaction (`with db.write() as session:`) and does all of
it there: the permission check (`permissions.allowed`, the one check), validation, the writes
and the audit entry. It raises AppError subclasses (NotFound, Forbidden, Conflict,
InvalidInput) that the web layer turns into the one error shape and the CLI into exit 2.
Callers never write the audit entry themselves.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput, NotFound
from hotline.security import audit, login_guard, passwords, sessions, users
from hotline.security.crypto import Sealer
from hotline.security.permissions import Action, Actor, Role, allowed, parse_roles
from hotline.security.tables import UserRow


def _permit(actor: Actor, target: users.User | None = None) -> None:
    """users.manage on `target`: the permission table plus the resource rule (nobody acts on
    their own account through these actions)."""
    resource = target.actor(mfa_passed=False) if target is not None else None
    if allowed(actor, Action.users_manage, resource):
        return
    if target is not None and target.id == actor.id and allowed(actor, Action.users_manage):
        raise Forbidden(N_("you cannot change your own account this way; ask another admin"))
    raise Forbidden(N_("your role does not allow managing staff accounts"))


def _locked_row(session: Session, username: str) -> UserRow:
    row = session.execute(
        select(UserRow).where(UserRow.username == username.strip().lower()).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("no user '%(username)s'", username=username.strip().lower()))
    return row


def _other_active_admins(session: Session, user_id: int) -> int:
    # Locked, so two admins demoting each other at once cannot both pass the check.
    rows = session.execute(
        select(UserRow.roles)
        .where(UserRow.id != user_id, UserRow.disabled.is_(False))
        .with_for_update()
    ).scalars()
    return sum(1 for roles in rows if Role.admin in parse_roles(roles))


def _keep_an_admin(session: Session, row: UserRow, removing: bool) -> None:
    """Refuse to disable or demote the last active admin: nobody could manage accounts."""
    if (
        removing
        and not row.disabled
        and Role.admin in parse_roles(row.roles)
        and _other_active_admins(session, row.id) == 0
    ):
        raise Conflict(
            N_(
                "'%(username)s' is the last active admin; add another admin first",
                username=row.username,
            )
        )


def _record(
    session: Session, actor: Actor, action: str, user: users.User, **detail: object
) -> None:
    audit.record(
        session, actor.username, action, "user", user.id, {"username": user.username, **detail}
    )


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    roles: list[str] | frozenset[Role],
    *,
    display_name: str = "",
) -> users.User:
    """Add a staff account; they enrol two-factor at their first sign-in."""
    _permit(actor)
    created = users.create_user(session, username, password, roles, display_name=display_name)
    _record(session, actor, "user.created", created, roles=sorted(created.roles))
    return created


def set_roles(
    session: Session, actor: Actor, username: str, roles: list[str] | frozenset[Role]
) -> users.User:
    """Replace an account's roles (at least one). Its sessions end, so the new roles apply at
    once rather than at the next sign-in."""
    try:
        role_set = roles if isinstance(roles, frozenset) else parse_roles(",".join(roles))
    except ValueError as exc:
        raise InvalidInput(
            N_("the roles are not valid"), fields=[FieldError("roles", str(exc))]
        ) from exc
    if not role_set:
        raise InvalidInput(
            N_("the roles are not valid"),
            fields=[FieldError("roles", N_("give at least one role"))],
        )
    _permit(actor)
    row = _locked_row(session, username)
    before = users.to_user(row)
    _permit(actor, before)
    _keep_an_admin(session, row, removing=Role.admin not in role_set)
    row.roles = ",".join(sorted(role_set))
    sessions.revoke_all_for(session, row.id)
    after = users.to_user(row)
    _record(
        session, actor, "user.roles_set", after, before=sorted(before.roles), roles=sorted(role_set)
    )
    return after


def set_disabled(session: Session, actor: Actor, username: str, disabled: bool) -> users.User:
    """Disable an account (its sessions end at once) or enable it again."""
    _permit(actor)  # before looking: no answer about who exists to those who may not ask
    row = _locked_row(session, username)
    _permit(actor, users.to_user(row))
    if disabled:
        _keep_an_admin(session, row, removing=True)
    row.disabled = disabled
    if disabled:
        sessions.revoke_all_for(session, row.id)
    user = users.to_user(row)
    _record(session, actor, "user.disabled" if disabled else "user.enabled", user)
    return user


def disable_user(session: Session, actor: Actor, username: str) -> users.User:
    return set_disabled(session, actor, username, True)


def enable_user(session: Session, actor: Actor, username: str) -> users.User:
    return set_disabled(session, actor, username, False)


def reset_password(session: Session, actor: Actor, username: str, password: str) -> users.User:
    """Set a new password (the holder is told it out of band); sessions end, counts clear."""
    _permit(actor)
    row = _locked_row(session, username)
    user = users.to_user(row)
    _permit(actor, user)
    try:
        passwords.check_strength(password)
    except passwords.WeakPasswordError as exc:
        raise InvalidInput(
            N_("the password cannot be used"), fields=[FieldError("password", str(exc))]
        ) from exc
    row.password_hash = passwords.hash_password(password)
    row.failed_logins, row.locked_until = 0, None
    sessions.revoke_all_for(session, row.id)
    _record(session, actor, "user.password_reset", user)  # never the password, nor its hash
    return user


def reset_two_factor(session: Session, actor: Actor, username: str) -> users.User:
    """Forget an account's two-factor enrolment (a lost phone): its sessions end and the holder
    enrols a new authenticator at their next sign-in, after their password."""
    _permit(actor)  # before looking: no answer about who exists to those who may not ask
    row = _locked_row(session, username)
    _permit(actor, users.to_user(row))
    if row.totp_secret is None and not row.totp_enabled:
        raise Conflict(
            N_("'%(username)s' has no two-factor enrolment to reset", username=row.username)
        )
    row.totp_secret, row.totp_enabled, row.totp_last_step = None, False, 0
    row.totp_failures, row.totp_locked_until = 0, None
    sessions.revoke_all_for(session, row.id)
    user = users.to_user(row)
    _record(session, actor, "user.2fa_reset", user)
    return user


def clear_failures(session: Session, actor: Actor, username: str) -> users.User:
    """Clear an account's failed sign-in counts and waits (after checking with its holder)."""
    _permit(actor)
    _permit(actor, users.get_user(session, username))
    user = login_guard.clear_failures(session, username)
    _record(session, actor, "user.failures_cleared", user)
    return user


def list_users(session: Session, actor: Actor) -> list[users.User]:
    """The accounts, for the staff accounts page: a view, audited like every view."""
    _permit(actor)
    audit.record(session, actor.username, "users.view", "user", "*", {})
    return users.list_users(session)


def enrol_two_factor(
    session: Session, user: users.User, session_token: str, code: str, sealer: Sealer
) -> bool:
    """The signed-in holder confirms their new authenticator with a code: two-factor goes on
    and this session passes it. Audited either way."""
    ok = users.check_totp(session, user.id, code, sealer, enrol=True)
    if ok:
        sessions.mark_mfa_passed(session, session_token)
    audit.record(
        session, user.username, "2fa.enrolled" if ok else "2fa.enrol_failed", "user", user.id, {}
    )
    return ok


def sign_out(session: Session, session_token: str, user: users.User | None) -> None:
    sessions.revoke(session, session_token)
    audit.record(
        session,
        user.username if user else "unknown",
        "logout",
        "user",
        user.id if user else "",
        {},
    )
