"""Members' release notifications: signed webhooks, an alternative to polling for releases.

A member registers an address (API or CLI) and receives a signing secret once; each release of
a list the registering key may read is POSTed there, signed like takedown's notices
(`takedown.delivery`), on the durable jobs with retries and backoff.
"""
