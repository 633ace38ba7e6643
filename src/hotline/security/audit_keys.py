"""The audit chain's key: kept out of the database, so rights on the database alone cannot
forge a row's hash.

Derived from HOTLINE_AUDIT_KEY when set (an operator may keep it apart from the web secret),
else from HOTLINE_SECRET_KEY, with a label of its own, so it is independent of every other
derived key. The checkpoint signing key (Ed25519) is derived from it in turn: whoever can
verify the chain can check a checkpoint, and no key is stored anywhere. Not a sealed key in
security/keys.py's store on purpose: that one lives in the database, sealed with the instance
secret, so checking a checkpoint would need the web secret and the database, the two things
a checkpoint must not depend on.

The key is bound to a database URL by the composition roots (the web app, the CLI) through
`use_key`, and found again from the connection an append or a verify runs on, so the many
`audit.record(session, ...)` callers need not carry it.
"""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection
from sqlalchemy.engine import URL, make_url

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.security.crypto import derive_key

_CHAIN_LABEL = "audit-chain-v2"
_CHECKPOINT_LABEL = "audit-checkpoint-signing"


class AuditKeyMissing(RuntimeError):
    """An append or a verify on a database no key was bound to (a wiring mistake)."""


def audit_key(settings: Settings) -> bytes:
    """The chain key: from `audit_key` when set, else from the secret key."""
    own = settings.audit_key.get_secret_value()
    material = own.encode() if own else settings.secret
    if not material:
        raise AuditKeyMissing("no audit key: set HOTLINE_AUDIT_KEY or HOTLINE_SECRET_KEY")
    return chain_key_from(material)


def chain_key_from(material: bytes) -> bytes:
    return derive_key(material, _CHAIN_LABEL)


def checkpoint_signer(key: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(derive_key(key, _CHECKPOINT_LABEL))


_lock = threading.Lock()
_by_url: dict[URL, bytes] = {}
_default: bytes | None = None


def use_key(db: Database, key: bytes) -> None:
    """Bind `key` to `db`'s database (every engine and Database object on that URL)."""
    with _lock:
        _by_url[make_url(db.url)] = key


def use_default_key(key: bytes | None) -> None:
    """A key for databases nothing was bound to. Only tests set one; production binds each."""
    global _default
    _default = key


def key_for(conn: Connection) -> bytes:
    key = _by_url.get(conn.engine.url, _default)
    if key is None:
        raise AuditKeyMissing(
            "no audit key is bound to this database; the app and the CLI bind it from "
            "HOTLINE_AUDIT_KEY or HOTLINE_SECRET_KEY (security.audit_keys.use_key)"
        )
    return key
