"""Lists and sharing: signed, versioned releases of the hash lists, in several formats.

- `tables`: list_releases, list_signing_keys (migration 0007); entry history lives on
  hash_list_entries (`added_in`, `withdrawn_in`, `withdrawn_reason`, `shared`)
- `model`: ListConfig, ReleaseEntry, Withdrawal, Manifest: plain objects
- `signing`: the keyring and signatures over a manifest; keys in hotline.security.keys
- `store`: the storage edge (entries live at a version, deltas between versions, releases)
- `formats`: JSON lines, CSV, VICS JSON and python-threatexchange writers
- `release`: write a release or a delta into a folder, sign it, move it into place
- `verify`: check a release folder against a keyring
- `from_grades`: hash list entries from verified grades
- `job_handlers`: reactions to events (verified grades join, URL lists follow verdicts and
  removals)
- `api`: GET /api/v1/lists… for members; `cli` (with `entries_cli`, `import_cli`): the
  `hotline lists` group, which this capability owns

See docs/lists.md.
"""
