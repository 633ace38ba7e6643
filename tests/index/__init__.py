"""Tests for hotline.index (a package so helper imports are relative and names cannot clash)."""
