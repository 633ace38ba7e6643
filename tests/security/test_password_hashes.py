"""Staff passwords are stored as argon2id hashes, and only the right password verifies."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

import pytest
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


def test_no_more_argon2_checks_run_at_once_than_there_are_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More parallel argon2 checks than cores only slow each other and starve the event loop;
    the rest wait their turn."""
    limit = max(1, os.cpu_count() or 1)
    inside = 0
    most = 0
    counter = threading.Lock()
    release = threading.Event()

    class HeldHasher:
        def verify(self, stored_hash: str, password: str) -> bool:
            nonlocal inside, most
            with counter:
                inside += 1
                most = max(most, inside)
            release.wait(timeout=30)
            with counter:
                inside -= 1
            return True

    monkeypatch.setattr(passwords, "_hasher", HeldHasher())
    started = threading.Barrier(limit + 3)
    threads = [
        threading.Thread(
            target=lambda: (started.wait(), passwords.verify_password("h", "p")), daemon=True
        )
        for _ in range(limit + 2)
    ]
    for thread in threads:
        thread.start()
    started.wait()  # every thread is about to check
    for _ in range(50):  # give the extra ones every chance to get in (never a false failure)
        with counter:
            if inside >= limit:
                break
        time.sleep(0.01)
    time.sleep(0.1)
    with counter:
        assert most == limit
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert most == limit


def test_a_hash_with_old_parameters_is_upgraded_at_the_next_right_sign_in(db: Database) -> None:
    """So every account's check costs what the dummy hash's does."""
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db.write() as session:
        users.create_user(session, "older", PASSWORD, ["analyst"])
        row = session.execute(select(UserRow).where(UserRow.username == "older")).scalar_one()
        row.password_hash = old
    policy = login_guard.LockoutPolicy(5, timedelta(minutes=1))

    def attempt(password: str) -> login_guard.PasswordOutcome:
        return login_guard.sign_in_with_password(
            db, "older", password, policy=policy, two_factor_required=True, session_hours=1
        )

    assert attempt("not the passphrase").user is None
    assert stored_hash(db, "older") == old  # a wrong password changes nothing
    assert attempt(PASSWORD).user is not None
    upgraded = stored_hash(db, "older")
    assert upgraded.rsplit("$", 2)[0] == passwords.DUMMY_HASH.rsplit("$", 2)[0]
    assert passwords.verify_password(upgraded, PASSWORD)
    assert not passwords.needs_rehash(upgraded) and passwords.needs_rehash(old)
    assert not passwords.needs_rehash("not a hash")
