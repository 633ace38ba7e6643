"""Staff passwords are stored as argon2id hashes, and only the right password verifies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security import passwords, users
from hotline.security.tables import UserRow

PASSWORD = "a long benign passphrase 42"


def stored_hash(db: Database, username: str) -> str:
    with db.read() as session:
        return session.execute(
            select(UserRow.password_hash).where(UserRow.username == username)
        ).scalar_one()


def test_stored_hash_is_argon2id(db: Database) -> None:
    with db.write() as session:
        users.create_user(session, "hashcheck", PASSWORD, ["analyst"])
    stored = stored_hash(db, "hashcheck")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert passwords.verify_password(stored, PASSWORD)
    assert not passwords.verify_password(stored, PASSWORD + "!")
    assert not passwords.verify_password(stored, "")


def test_sign_in_checks_the_stored_hash(db: Database) -> None:
    with db.write() as session:
        users.create_user(session, "signer", PASSWORD, ["analyst"])
    with db.write() as session:
        wrong, nobody = users.authenticate(
            session, "signer", "not the passphrase", max_failures=5, lockout=timedelta(minutes=1)
        )
    assert nobody is None and wrong is users.LoginResult.bad_credentials
    with db.write() as session:
        result, user = users.authenticate(
            session, "signer", PASSWORD, max_failures=5, lockout=timedelta(minutes=1)
        )
    assert result is users.LoginResult.ok and user is not None and user.username == "signer"


def test_each_hash_is_salted_and_odd_hashes_never_verify() -> None:
    first, second = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert first != second  # a fresh salt each time
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert passwords.DUMMY_HASH.startswith("$argon2id$")
    assert not passwords.verify_password("not a hash at all", PASSWORD)
    assert not passwords.verify_password("", PASSWORD)
