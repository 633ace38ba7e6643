"""When a takedown case is next re-checked and reminded. Pure arithmetic on times, so the
cadence can be tested without a database or a clock.

Re-checks are frequent while a notice is young (hosts that act, act fast: the early interval
catches removal within the hour) and then settle to a slow pace; reminders go a fixed time
after the last notice until the content is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hotline.config import Settings


@dataclass(frozen=True)
class Cadence:
    early: timedelta  # re-check interval during the early period
    early_period: timedelta  # how long after the first notice the early interval applies
    late: timedelta  # re-check interval afterwards
    reminder: timedelta  # from the last notice (or reminder) to the next reminder

    def __post_init__(self) -> None:
        if self.early <= timedelta(0) or self.late <= timedelta(0):
            raise ValueError("re-check intervals must be positive")
        if self.reminder <= timedelta(0) or self.early_period < timedelta(0):
            raise ValueError("the reminder interval must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> Cadence:
        return cls(
            early=timedelta(minutes=settings.recheck_early_minutes),
            early_period=timedelta(hours=settings.recheck_early_hours),
            late=timedelta(hours=settings.recheck_late_hours),
            reminder=timedelta(hours=settings.reminder_hours),
        )


def next_check(now: datetime, started_at: datetime, cadence: Cadence) -> datetime:
    """The next re-check after one at `now`. `started_at` is the first notice (or, before one
    went out, when the case was confirmed or forwarded): the early period counts from it."""
    if now < started_at + cadence.early_period:
        return now + cadence.early
    return now + cadence.late


def next_reminder(last_notice_at: datetime, cadence: Cadence) -> datetime:
    return last_notice_at + cadence.reminder
