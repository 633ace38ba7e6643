"""Notice and takedown: the host directory, notices and reminders, re-checks, removal."""
