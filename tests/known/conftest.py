"""Capture tests here use tests/assess's benign site, fetcher and no-network guard."""

from tests.assess.conftest import fetcher, make_fetcher, nat, resolver, site, socket_guard

__all__ = ["fetcher", "make_fetcher", "nat", "resolver", "site", "socket_guard"]
