"""Taskforce: bulk case sets (import, hashing on Dask, known material, grading)."""
