"""Signed checkpoints of the audit chain's head, kept outside the database.

The keyed chain stops anyone without the key from rewriting rows, but someone with database
rights can still delete the newest rows and move the head back to an earlier, genuine row:
the chain that is left verifies. A checkpoint (seq, head hash, time, the first keyed row),
signed with an Ed25519 key derived from the audit key and written where the database's users
cannot reach (a file on another volume, an operator's HTTPS endpoint), is what the database
is later compared with: a chain shorter than a checkpoint, or a different hash at its seq,
means rows were removed or rewritten after it was taken.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.audit import VerifyResult
from hotline.security.audit_keys import checkpoint_signer
from hotline.security.keys import key_id_of
from hotline.security.tables import AuditStateRow

FORMAT = "hotline-audit-checkpoint"
_SIGNED_FIELDS = ("format", "seq", "hash", "keyed_from", "at", "key_id")


class AnchorError(Exception):
    """A checkpoint that cannot be written, read or trusted; the message says which and why."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    keyed_from: int | None
    at: datetime
    key_id: str
    signature: str  # base64 Ed25519 over the canonical JSON of the signed fields

    def signed_part(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "keyed_from": self.keyed_from,
            "at": self.at.isoformat(),
            "key_id": self.key_id,
        }

    def to_json(self) -> dict[str, Any]:
        return self.signed_part() | {"signature": self.signature}


def _message(signed: dict[str, Any]) -> bytes:
    return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()


def key_id(key: bytes) -> str:
    """The checkpoint key's id, as every Ed25519 key here is named (security/keys.py)."""
    return key_id_of(checkpoint_signer(key).public_key().public_bytes_raw())


def public_key_b64(key: bytes) -> str:
    return base64.b64encode(checkpoint_signer(key).public_key().public_bytes_raw()).decode()


def sign(result: VerifyResult, key: bytes) -> Checkpoint:
    """A signed checkpoint of exactly the part of the chain `result` found intact."""
    unsigned = Checkpoint(
        result.last_seq, result.head_hash, result.keyed_from, utcnow(), key_id(key), ""
    )
    signature = checkpoint_signer(key).sign(_message(unsigned.signed_part()))
    return Checkpoint(
        unsigned.seq,
        unsigned.hash,
        unsigned.keyed_from,
        unsigned.at,
        unsigned.key_id,
        base64.b64encode(signature).decode(),
    )


def parse(record: dict[str, Any], key: bytes, where: str) -> Checkpoint:
    """A checkpoint read back, its signature checked with `key`'s public half."""
    try:
        checkpoint = Checkpoint(
            int(record["seq"]),
            str(record["hash"]),
            None if record["keyed_from"] is None else int(record["keyed_from"]),
            datetime.fromisoformat(str(record["at"])),
            str(record["key_id"]),
            str(record["signature"]),
        )
        if record["format"] != FORMAT:
            raise ValueError(f"format {record['format']!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise AnchorError(f"{where} is not a checkpoint ({exc})") from exc
    if checkpoint.key_id != key_id(key):
        raise AnchorError(
            f"{where} was signed by key {checkpoint.key_id}, not this audit key "
            f"({key_id(key)}): a forged checkpoint, or HOTLINE_AUDIT_KEY changed"
        )
    try:
        checkpoint_signer(key).public_key().verify(
            base64.b64decode(checkpoint.signature, validate=True),
            _message(checkpoint.signed_part()),
        )
    except (InvalidSignature, ValueError) as exc:
        raise AnchorError(f"{where} has a bad signature: it was altered or forged") from exc
    return checkpoint


# -- where checkpoints go ---------------------------------------------------------------------


def is_url(target: str) -> bool:
    """Anything with a scheme is a URL (and only http(s) ones are accepted), never a path."""
    return "://" in target


def check_url(target: str) -> None:
    """https anywhere; plain http only to a loopback address (a local relay, tests)."""
    parts = urlsplit(target)
    if parts.scheme.lower() == "https" and parts.hostname:
        return
    if parts.scheme.lower() == "http" and parts.hostname:
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return
        except ValueError:
            pass
    raise AnchorError(
        f"{target}: checkpoints go to a file or an https:// URL (http:// only to 127.0.0.1 or ::1)"
    )


def write(checkpoint: Checkpoint, target: str) -> None:
    """Append to a JSON-lines file, or POST (JSON) to a URL; raises AnchorError on failure."""
    line = json.dumps(checkpoint.to_json(), sort_keys=True)
    if is_url(target):
        check_url(target)
        try:
            response = httpx.post(
                target,
                content=line,
                headers={"content-type": "application/json"},
                timeout=10,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise AnchorError(f"could not POST the checkpoint to {target}: {exc}") from exc
        if not response.is_success:
            raise AnchorError(f"{target} answered {response.status_code} to the checkpoint")
        return
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
    except OSError as exc:
        raise AnchorError(f"could not append the checkpoint to {path}: {exc}") from exc


def read_all(path: Path, key: bytes) -> list[Checkpoint]:
    """Every checkpoint in a JSON-lines file, each signature checked ([] if no file yet)."""
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"checkpoint at {path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise AnchorError(f"{where} is not JSON") from exc
        if not isinstance(record, dict):
            raise AnchorError(f"{where} is not a checkpoint")
        found.append(parse(record, key, where))
    return found


# -- comparing the chain with them ------------------------------------------------------------


def compare(result: VerifyResult, checkpoints: Sequence[Checkpoint]) -> str | None:
    """What the checkpoints say happened to a chain that verified on its own, or None."""
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        if checkpoint.seq > result.last_seq:
            if result.last_seq == 0:
                return (
                    f"the chain was reset: it has no rows, but checkpoint {checkpoint.seq} "
                    f"({checkpoint.at.isoformat()}) covers {checkpoint.seq}"
                )
            return (
                f"tail deleted after checkpoint {checkpoint.seq}: the chain ends at row "
                f"{result.last_seq}, the checkpoint of {checkpoint.at.isoformat()} covers "
                f"{checkpoint.seq} rows"
            )
        if checkpoint.seq > 0 and result.hashes_at.get(checkpoint.seq) != checkpoint.hash:
            return (
                f"row {checkpoint.seq} differs from checkpoint {checkpoint.seq} "
                f"({checkpoint.at.isoformat()}): the chain was rewritten or reset since"
            )
    return None


def anchor(db: Database, key: bytes, target: str) -> Checkpoint:
    """Verify the whole chain (and, for a file, against the checkpoints already in it), then
    write a checkpoint of it. A broken chain, or one that no longer extends an earlier
    checkpoint, is refused: anchoring it would bless the damage."""
    earlier = [] if is_url(target) else read_all(Path(target), key)
    with db.read() as session:
        result = audit.verify(session, want={c.seq for c in earlier})
    if not result.ok:
        raise AnchorError(f"not anchoring a broken chain: {result.problem}")
    problem = compare(result, earlier)
    if problem is not None:
        raise AnchorError(f"not anchoring: {problem}")
    checkpoint = sign(result, key)
    write(checkpoint, target)
    with db.write() as session:
        # The whole chain was just walked: the staff page need only walk from here.
        audit.mark_verified(session, checkpoint.seq, checkpoint.hash)
        audit.state_row(session, lock=True).anchored_at = checkpoint.at
    return checkpoint


def last_anchored(db: Database) -> datetime | None:
    with db.read() as session:
        row = session.get(AuditStateRow, 1)
        return row.anchored_at if row is not None else None
