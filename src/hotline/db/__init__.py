"""Storage: engine, sessions and migrations."""
