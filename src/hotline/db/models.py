"""Imports every capability's tables so `Base.metadata` is complete (Alembic, drift test)."""

from hotline.advice import tables as advice_tables
from hotline.assess import hosting_tables, site_types
from hotline.db.base import Base
from hotline.exchange import tables as exchange_tables
from hotline.grading import tables as grading_tables
from hotline.intake import tables as intake_tables
from hotline.jobs import tables as jobs_tables
from hotline.lists import feed_tables as lists_feed_tables
from hotline.lists import feedback_tables
from hotline.lists import tables as lists_tables
from hotline.matching import tables as matching_tables
from hotline.notify import tables as notify_tables
from hotline.proactive import tables as proactive_tables
from hotline.security import ratelimit_tables
from hotline.security import tables as security_tables
from hotline.stats import tables as stats_tables
from hotline.takedown import tables as takedown_tables
from hotline.taskforce import tables as taskforce_tables

__all__ = [
    "Base",
    "advice_tables",
    "exchange_tables",
    "feedback_tables",
    "grading_tables",
    "hosting_tables",
    "intake_tables",
    "jobs_tables",
    "lists_feed_tables",
    "lists_tables",
    "matching_tables",
    "notify_tables",
    "proactive_tables",
    "ratelimit_tables",
    "security_tables",
    "site_types",
    "stats_tables",
    "takedown_tables",
    "taskforce_tables",
]
