"""A host's site domain and top-level domain, for the published figures (docs/statistics.md).

The site domain is the host less its subdomains: the last two labels, or the last three where
the second-level label is one of the common public second levels under a country code
(`co.uk`, `com.au`, ...). This is an approximation of the Public Suffix List, kept small and
without a dependency; hosts that are addresses have no domain beyond themselves and no TLD.
"""

from __future__ import annotations

import ipaddress

# Second-level labels that registries use as public suffixes under a two-letter country code.
_PUBLIC_SECOND_LEVELS = frozenset(
    {"ac", "co", "com", "edu", "gov", "net", "org", "ne", "or", "gob", "gouv", "govt", "nic"}
)


def without_www(host: str) -> str:
    """The host less a leading "www." (www.example.com is example.com; www.com stays), as
    the staff searches and the media list read a host."""
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def site_domain(host: str) -> tuple[str, str | None]:
    """(domain, tld) of a normalised host: ("example.co.uk", "uk") for "www.example.co.uk";
    (host, None) for an IP address."""
    bare = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(bare)
        return bare, None
    except ValueError:
        pass
    labels = bare.split(".")
    if len(labels) == 1:
        return bare, None
    tld = labels[-1]
    keep = 2
    if len(labels) >= 3 and len(tld) == 2 and labels[-2] in _PUBLIC_SECOND_LEVELS:
        keep = 3
    return ".".join(labels[-keep:]), tld
