"""Analyst wellbeing: viewing time against a daily cap, hourly break prompts, blur strength.

Pages have no timers (they work without JavaScript), so viewing time is charged per event:
a page of blurred thumbnails and each reveal cost a configured number of seconds. The figures
are an estimate, deliberately on the high side; the cap stops media display when reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, FieldError, InvalidInput
from hotline.grading.tables import MediaViewRow, StaffPreferenceRow

MIN_BLUR = 4
MAX_BLUR = 40


@dataclass(frozen=True)
class Exposure:
    seconds_today: int
    cap_seconds: int
    breaks_today: int
    break_every_seconds: int
    reveals_today: int

    @property
    def capped(self) -> bool:
        return self.seconds_today >= self.cap_seconds

    @property
    def break_due(self) -> bool:
        return self.seconds_today // self.break_every_seconds > self.breaks_today

    @property
    def minutes_today(self) -> int:
        return self.seconds_today // 60

    @property
    def minutes_left(self) -> int:
        return max(0, self.cap_seconds - self.seconds_today) // 60


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def exposure(
    session: Session,
    user_id: int,
    *,
    cap_minutes: int,
    break_every_minutes: int,
    now: datetime | None = None,
) -> Exposure:
    start = _day_start(now or utcnow())
    rows = session.execute(
        select(MediaViewRow.kind, func.count(), func.coalesce(func.sum(MediaViewRow.seconds), 0))
        .where(
            MediaViewRow.user_id == user_id,
            MediaViewRow.at >= start,
            MediaViewRow.at < start + timedelta(days=1),
        )
        .group_by(MediaViewRow.kind)
    ).all()
    seconds = sum(int(total) for _kind, _n, total in rows)
    counts = {kind: int(n) for kind, n, _total in rows}
    return Exposure(
        seconds,
        cap_minutes * 60,
        counts.get("break", 0),
        break_every_minutes * 60,
        counts.get("reveal", 0),
    )


def charge(
    session: Session, user_id: int, kind: str, seconds: int, media_id: int | None = None
) -> None:
    session.add(
        MediaViewRow(user_id=user_id, media_id=media_id, kind=kind, seconds=seconds, at=utcnow())
    )
    session.flush()


def take_break(session: Session, user_id: int) -> None:
    charge(session, user_id, "break", 0)


def blur_strength(session: Session, user_id: int, default: int) -> int:
    row = session.get(StaffPreferenceRow, user_id)
    return max(row.blur_strength, MIN_BLUR) if row else default


def set_blur_strength(session: Session, user_id: int, value: str | int) -> int:
    """An analyst's own blur; it can be made stronger or lighter, never switched off."""
    try:
        strength = int(value)
    except (TypeError, ValueError):
        strength = -1
    if not MIN_BLUR <= strength <= MAX_BLUR:
        raise InvalidInput(
            N_("the blur strength is out of range"),
            fields=[
                FieldError(
                    "blur_strength",
                    N_(
                        "a whole number from %(min_blur)s to %(max_blur)s",
                        min_blur=MIN_BLUR,
                        max_blur=MAX_BLUR,
                    ),
                )
            ],
        )
    row = session.get(StaffPreferenceRow, user_id)
    if row is None:
        session.add(StaffPreferenceRow(user_id=user_id, blur_strength=strength))
    else:
        row.blur_strength = strength
    session.flush()
    return strength
