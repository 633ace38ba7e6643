"""Staff accounts, sessions, permissions and the audit log."""
