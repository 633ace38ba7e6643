"""Durable background jobs: a database table, leases with fencing tokens, workers."""
