"""Member matching: industry members' API keys, hash lists, and the match API and CLI.

- `tables`: members, member_keys, hash_lists, hash_list_entries (migration 0003)
- `keys`: issue and verify keys; `searchable_lists` is the one scope check
- `store`: the storage edge (rows in, domain objects out)
- `matcher`: `Matcher`, lists in memory, refreshed incrementally by list version
- `inputs`, `upload`, `api`, `service`: POST /api/v1/match
- `list_files`: exported list files (JSON lines), read by `hotline match`
- `cli`: `member_app`, `match_command` (the `hotline lists` group is the lists capability's)

See docs/matching.md.
"""
