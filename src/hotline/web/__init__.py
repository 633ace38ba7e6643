"""The web app: factory, templates, static files and shared request plumbing."""
