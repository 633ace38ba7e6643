"""hotline: from a public report of a web address to its removal."""

__version__ = "0.1.0"
