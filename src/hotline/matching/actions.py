"""Industry members and their API keys: one function per action, called by `hotline member …`
(and any page or API that comes) alike (docs/architecture.md, "Actions").

Each runs in the caller's transaction and never commits: the permission check
(`members.manage`, through `permissions.allowed`), the write through `store`, and its audit
entry. A key itself is never audited, only its prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hotline.errors import N_, Forbidden
from hotline.matching import keys, store
from hotline.matching.model import KeyInfo, Member
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.members_manage):
        raise Forbidden(N_("your role does not allow managing members or their keys"))


def add_member(session: Session, actor: Actor, name: str) -> Member:
    """Add an industry member (a unique short name)."""
    _permit(actor)
    member = store.create_member(session, name)
    audit.record(
        session, actor.username, "member.created", "member", member.id, {"name": member.name}
    )
    return member


def create_key(
    session: Session, actor: Actor, member: str, lists: Sequence[str]
) -> tuple[keys.IssuedKey, KeyInfo]:
    """Issue a key for `member` scoped to `lists`; the key is returned once, only its hash
    is kept, and the audit entry names its prefix."""
    _permit(actor)
    issued, info = store.create_key(session, member, lists)
    audit.record(
        session,
        actor.username,
        "member_key.created",
        "member_key",
        info.prefix,
        {"member": info.member, "lists": list(info.scopes)},
    )
    return issued, info


def revoke_key(session: Session, actor: Actor, prefix: str) -> KeyInfo:
    """Revoke a key at once (revoking twice is harmless, and audited again)."""
    _permit(actor)
    info = store.revoke_key(session, prefix)
    audit.record(
        session,
        actor.username,
        "member_key.revoked",
        "member_key",
        info.prefix,
        {"member": info.member},
    )
    return info


def view_members(session: Session, actor: Actor) -> tuple[list[Member], list[KeyInfo], list[str]]:
    """The members, every key (prefix, scopes, created, revoked, last used: never a key nor
    its hash) and the hash lists a key may be scoped to. A plain read of settings, so not
    audited."""
    _permit(actor)
    lists = sorted(info.name for info in store.list_infos(session))
    return store.list_members(session), store.list_keys(session), lists
