"""Analyst assessment: the queue of reported URLs (fetching and verdicts come next)."""
