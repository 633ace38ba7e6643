"""Which IP addresses are public, and IPv4 in every spelling browsers accept.

Shared by intake (a reported URL must not name a private address) and the fetcher's SSRF guard
(it must never connect to one), so both refuse exactly the same addresses.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A host made only of digits, dots and hex markers is an IP address in some spelling.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")

_net = ipaddress.ip_network
# Non-global ranges that Python 3.11's ipaddress flags miss or get wrong, from the IANA
# special-purpose registries. Checked in addition to the is_* flags, never instead.
_EXTRA_BLOCKED: tuple[IPNetwork, ...] = (
    _net("0.0.0.0/8"),  # "this network"
    _net("100.64.0.0/10"),  # CGNAT shared space
    _net("192.0.0.0/24"),  # IETF protocol assignments
    _net("192.88.99.0/24"),  # deprecated 6to4 relay anycast
    _net("198.18.0.0/15"),  # benchmarking
    _net("64:ff9b:1::/48"),  # local-use NAT64
    _net("100::/64"),  # discard-only
    _net("2001::/23"),  # IETF protocol assignments, Teredo included
    _net("2001:db8::/32"),  # documentation
    _net("3fff::/20"),  # documentation (2024)
    _net("5f00::/16"),  # SRv6 SIDs
    _net("fc00::/7"),  # unique local
    _net("fec0::/10"),  # deprecated site-local
)
_NAT64 = _net("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are an IPv4 address
_IPV4_COMPATIBLE = _net("::/96")  # deprecated ::a.b.c.d
_IPV4_TRANSLATED = _net("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d


def _ipv4_is_public(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or any(ip in net for net in _EXTRA_BLOCKED if net.version == 4)
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, IPv6 forms of private IPv4 refused."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_is_public(ip)
    embedded = _embedded_ipv4(ip)
    if any(not _ipv4_is_public(v4) for v4 in embedded):
        return False
    if ip in _NAT64:
        # Python files 64:ff9b::/96 under the reserved ::/8; it is how an IPv6-only network
        # with DNS64 reaches public IPv4 sites, so the embedded address decides (checked above).
        return True
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_site_local
        or ip.is_multicast
        or ip.is_reserved  # covers ::/8: mapped, compatible and translated forms
        or ip.is_unspecified
        or any(ip in net for net in _EXTRA_BLOCKED if net.version == 6)
    )


def parse_ipv4_any_spelling(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's rules: 1-4 parts, each decimal, octal (leading 0) or hex (0x)."""
    if not _NUMERIC_HOST.match(host):
        return None
    parts = host.rstrip(".").split(".")
    values: list[int] = []
    for part in parts:
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not all(c in "01234567" for c in part):
                raise ValueError("not a valid IPv4 address")
            values.append(int(part, 8))
        else:
            values.append(int(part))
    # The last part fills the remaining bytes (e.g. 127.1 = 127.0.0.1, 2130706433 = 127.0.0.1).
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        raise ValueError("not a valid IPv4 address")
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)
