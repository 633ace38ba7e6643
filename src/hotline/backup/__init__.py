"""Backups that restore: `hotline backup create`, `check` and `restore`.

One tar archive (optionally encrypted as a whole) holds a consistent copy of the database,
the sealed media, the list release files, the audit anchor file and a manifest of every
file's size and SHA-256. The instance secret is never in it (docs/operations.md says why).
"""
