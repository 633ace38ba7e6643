"""Proactive search: scoped, polite crawls from confirmed material that find known media by
hash without showing it, and a classifier slot that only ever sets priority.
See docs/proactive.md."""
