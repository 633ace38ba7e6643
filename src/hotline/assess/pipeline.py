"""Capture a reported URL: fetch the page and its media safely, hash everything, match known
material, keep new media encrypted for grading, and record the evidence.

The network part runs outside any database transaction (it can take minutes); the results are
then written in one transaction, so a capture is recorded whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import known as known_material
from hotline.assess.capture import PageCapture, collect_media
from hotline.assess.fetcher import SafeFetcher
from hotline.assess.hosting import HostResolver, trace_host
from hotline.assess.hosting_store import record_trace
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, NotFound
from hotline.grading import service
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import PageCaptureRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.intake.urls import UrlError, parse_url
from hotline.security import audit

KNOWN_MATCH_PRIORITY = 2


@dataclass(frozen=True)
class CaptureSummary:
    url_id: int
    capture_id: int
    page_status: int | None
    error_code: str | None
    new_items: int
    known_items: int
    failed_items: int


def _evidence_json(capture: PageCapture) -> str:
    return json.dumps(
        {
            "page": capture.page.to_json(),
            "dropped": capture.dropped,
            "items": [
                {
                    "url": item.url,
                    "source": item.source,
                    "evidence": item.evidence.to_json() if item.evidence else None,
                    "error_code": item.error_code,
                    "error_message": item.error_message,
                }
                for item in capture.items
            ],
        },
        sort_keys=True,
        default=str,
    )


def url_to_fetch(session: Session, row: ReportedUrlRow) -> str:
    """The URL as its first reporter sent it, if it still parses; else the normalised key.

    The normalised form is for finding duplicates only: it may differ from what the server
    serves (`?q=a+b` is not `?q=a%20b` to every server), so it is never what is fetched."""
    submitted = session.execute(
        select(ReportRow.submitted_url)
        .where(ReportRow.url_id == row.id)
        .order_by(ReportRow.id)
        .limit(1)
    ).scalar_one_or_none()
    if submitted is not None:
        try:
            return parse_url(submitted).url
        except UrlError:
            pass  # reports stored before today's rules; the key is still a valid URL
    return row.normalized_url


def _known_hashes(hashes: service.MediaHashesIn) -> known_material.KnownHashes:
    return known_material.KnownHashes(
        sha256=hashes.sha256,
        md5=hashes.md5,
        sha1=hashes.sha1,
        pdq=hashes.pdq,
        pdq_quality=hashes.pdq_quality,
    )


def capture_url(
    db: Database,
    fetcher: SafeFetcher,
    store: MediaStore | None,
    url_id: int,
    *,
    actor: str,
    retention: timedelta,
    host_resolvers: Sequence[HostResolver] | None = None,
) -> CaptureSummary:
    """`store` None means hash-only mode: no media bytes are kept."""
    with db.read() as session:
        row = session.get(ReportedUrlRow, url_id)
        if row is None:
            raise NotFound(N_("no reported URL with that id"))
        page_url = url_to_fetch(session, row)
    capture = collect_media(fetcher, page_url)
    # Tracing may ask RDAP servers over the network: done before the transaction opens.
    trace = trace_host(
        capture.page.resolved_ip,
        host_resolvers or [],
        allow_networks=fetcher.policy.traced_loopback,  # a demo's own site, else none
    )
    fetched = [
        (item.url, service.MediaHashesIn.of(item.hashes, item.signals), item.hashes.kind, item.body)
        for item in capture.items
        if item.ok and item.hashes is not None and item.body is not None
    ]
    new = known = 0
    failed = len(capture.items) - len(fetched)
    with db.write() as session:
        # One batch for the page: graded media and every hash list, imported ones included.
        matches = known_material.lookup(session, [_known_hashes(f[1]) for f in fetched])
        for (source_url, hashes, kind, body), match in zip(fetched, matches, strict=True):
            media = service.register_media(
                session,
                url_id=url_id,
                source_url=source_url,
                kind=kind.value,
                hashes=hashes,
                byte_count=len(body),
                stored=store is not None,
                purge_after=utcnow() + retention,
                inherited=known_material.inherited(session, match) if match else None,
            )
            if media.status is service.MediaStatus.known_match:
                known += 1
            else:
                new += 1
                if store is not None:
                    store.put(media.id, body)
        if known:
            # Known material on the page: the case moves up the queue (a known-match hint).
            url_row = session.get(ReportedUrlRow, url_id)
            if url_row is not None:
                url_row.priority = max(url_row.priority, KNOWN_MATCH_PRIORITY)
        row_capture = PageCaptureRow(
            url_id=url_id,
            at=utcnow(),
            status=capture.page.status,
            error_code=capture.page.error_code,
            item_count=len(capture.items),
            new_items=new,
            known_items=known,
            failed_items=failed,
            evidence=_evidence_json(capture),
        )
        session.add(row_capture)
        session.flush()
        stored_trace = record_trace(session, url_id, row_capture.id, trace)
        audit.record(
            session,
            actor,
            "url.captured",
            "reported_url",
            url_id,
            {
                "capture": row_capture.id,
                "status": capture.page.status,
                "error": capture.page.error_code,
                "new": new,
                "known": known,
                "failed": failed,
                "host_trace": stored_trace.outcome,
            },
        )
        capture_id = row_capture.id
    return CaptureSummary(
        url_id, capture_id, capture.page.status, capture.page.error_code, new, known, failed
    )


@dataclass(frozen=True)
class CaptureRecord:
    id: int
    at: datetime
    status: int | None
    error_code: str | None
    new_items: int
    known_items: int
    failed_items: int


def recent_captures(session: Session, url_id: int, limit: int = 10) -> list[CaptureRecord]:
    rows = session.execute(
        select(PageCaptureRow)
        .where(PageCaptureRow.url_id == url_id)
        .order_by(PageCaptureRow.id.desc())
        .limit(limit)
    ).scalars()
    return [
        CaptureRecord(
            r.id, r.at, r.status, r.error_code, r.new_items, r.known_items, r.failed_items
        )
        for r in rows
    ]
