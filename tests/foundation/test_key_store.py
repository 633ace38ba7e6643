"""The one Ed25519 key store (hotline.security.keys), used by list signing and the partner
exchange: made once on first use, sealed per purpose, rotated with the old key kept."""

from __future__ import annotations

import base64

import pytest

from hotline.db.engine import Database
from hotline.exchange import actions as exchange_actions
from hotline.exchange.tables import ExchangeKeyRow
from hotline.lists import signing
from hotline.lists.tables import SigningKeyRow
from hotline.security.crypto import DecryptionError
from hotline.security.keys import KeyStore, base64_text, key_id_of

SECRET = b"a test secret that is long enough for the key store"


def test_first_use_makes_one_key_and_rotation_keeps_the_old(db: Database) -> None:
    store = KeyStore(SigningKeyRow, "test-purpose")
    with db.write() as s:
        first = store.in_use(s, SECRET)
        assert store.in_use(s, SECRET).key_id == first.key_id  # made once
        public = store.private(SECRET, first).public_key().public_bytes_raw()
        assert key_id_of(public) == first.key_id and first.public_key == public.hex()
        old, new = store.rotate(s, SECRET)
        assert old is not None and old.key_id == first.key_id and old.retired_at is not None
        assert store.in_use(s, SECRET).key_id == new.key_id != first.key_id
        assert [r.key_id for r in store.history(s)] == [first.key_id, new.key_id]


def test_a_key_sealed_for_one_purpose_does_not_open_for_another(db: Database) -> None:
    lists_store = KeyStore(SigningKeyRow, "list-signing-key")
    with db.write() as s:
        row = lists_store.in_use(s, SECRET)
        with pytest.raises(DecryptionError):
            KeyStore(SigningKeyRow, "exchange-signing-key").private(SECRET, row)
        with pytest.raises(DecryptionError):
            lists_store.private(b"another secret entirely, also long enough", row)


def test_lists_and_exchange_keep_their_keys_in_their_own_tables(db: Database) -> None:
    with db.write() as s:
        signer = signing.signer(s, SECRET)
        me = exchange_actions.signing_identity(s, SECRET)
        assert signer.key_id != me.key_id
        assert s.query(SigningKeyRow).count() == 1 and s.query(ExchangeKeyRow).count() == 1
        raw = base64.b64decode(me.public_key)  # the exchange stores base64, lists hex
        assert me.public_key == base64_text(raw) and key_id_of(raw) == me.key_id
