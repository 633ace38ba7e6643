"""Staff passwords are stored as argon2id hashes, and only the right password verifies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security import login_guard, passwords, users
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
    policy = login_guard.LockoutPolicy(5, timedelta(minutes=1))

    def attempt(password: str) -> login_guard.PasswordOutcome:
        return login_guard.sign_in_with_password(
            db, "signer", password, policy=policy, two_factor_required=True, session_hours=1
        )

    wrong = attempt("not the passphrase")
    assert wrong.user is None and wrong.token is None
    assert wrong.refusal is login_guard.Refusal.wrong_password
    right = attempt(PASSWORD)
    assert right.user is not None and right.user.username == "signer"
    assert right.token and right.needs_code


def test_each_hash_is_salted_and_odd_hashes_never_verify() -> None:
    first, second = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert first != second  # a fresh salt each time
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert passwords.DUMMY_HASH.startswith("$argon2id$")
    assert not passwords.verify_password("not a hash at all", PASSWORD)
    assert not passwords.verify_password("", PASSWORD)
