"""A minimal writer of MaxMind DB files (format spec 2.0), for tests only.

https://maxmind.github.io/MaxMind-DB/ : a binary search tree whose nodes hold two records
(left: bit 0, right: bit 1), 16 zero bytes, a data section, then b"\\xab\\xcd\\xefMaxMind.com"
and the metadata map. A record below the node count points to a node, equal to it means "no
data", above it points into the data section (value - node_count - 16). IPv4 networks in an
IPv6 tree live under ::/96, which is where readers start an IPv4 lookup.

Supports what GeoLite2-style records need: maps, arrays, strings, unsigned ints, booleans,
doubles; 24- or 32-bit records; no pointers inside the data (each record is written whole).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


@dataclass(frozen=True)
class Uint:
    """An unsigned integer of a given MaxMind type (5 uint16, 6 uint32, 9 uint64)."""

    value: int
    type: int


def _control(type_number: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 29 + 256:
        head, extra = 29, bytes([size - 29])
    elif size < 285 + 65536:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65821).to_bytes(3, "big")
    if type_number <= 7:
        return bytes([(type_number << 5) | head]) + extra
    return bytes([head, type_number - 7]) + extra  # extended type: next byte is type - 7


def encode(value: Any) -> bytes:
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, Uint):
        raw = value.value.to_bytes(16, "big").lstrip(b"\x00")
        return _control(value.type, len(raw)) + raw
    if isinstance(value, int):
        if value < 0:
            raise ValueError("only unsigned integers")
        return encode(Uint(value, 6 if value < 2**32 else 9))
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, bytes):
        return _control(4, len(value)) + value
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class _Node:
    __slots__ = ("children", "number")

    def __init__(self) -> None:
        self.children: list[_Node | int | None] = [None, None]  # int: index into records
        self.number = 0


def write_mmdb(
    path: Any,
    networks: list[tuple[str, dict[str, Any]]],
    *,
    database_type: str,
    ip_version: int = 6,
    record_size: int = 24,
) -> None:
    """Write `networks` ([(cidr, record)], disjoint) to a .mmdb file at path."""
    if record_size not in (24, 32):
        raise ValueError("record_size 24 or 32")
    root = _Node()
    records: list[bytes] = []
    for cidr, record in networks:
        net = ipaddress.ip_network(cidr)
        bits, length = int(net.network_address), net.prefixlen
        width = net.max_prefixlen
        if ip_version == 6 and net.version == 4:
            width, length = 128, length + 96  # IPv4 under ::/96
        elif net.version != ip_version:
            raise ValueError(f"{cidr} in an IPv{ip_version} tree")
        records.append(encode(record))
        node = root
        for i in range(length):
            bit = (bits >> (width - 1 - i)) & 1
            if i == length - 1:
                if node.children[bit] is not None:
                    raise ValueError(f"{cidr} overlaps another network")
                node.children[bit] = len(records) - 1
            else:
                child = node.children[bit]
                if child is None:
                    child = node.children[bit] = _Node()
                if not isinstance(child, _Node):
                    raise ValueError(f"{cidr} overlaps another network")
                node = child

    nodes: list[_Node] = []
    queue = [root]
    while queue:  # breadth first, root is node 0
        node = queue.pop(0)
        node.number = len(nodes)
        nodes.append(node)
        queue.extend(c for c in node.children if isinstance(c, _Node))
    node_count = len(nodes)

    offsets: list[int] = []
    data = b""
    for encoded in records:
        offsets.append(len(data))
        data += encoded

    def value(child: _Node | int | None) -> int:
        if child is None:
            return node_count
        if isinstance(child, _Node):
            return child.number
        return node_count + 16 + offsets[child]

    tree = b"".join(
        value(n.children[0]).to_bytes(record_size // 8, "big")
        + value(n.children[1]).to_bytes(record_size // 8, "big")
        for n in nodes
    )
    metadata = {
        "node_count": Uint(node_count, 6),
        "record_size": Uint(record_size, 5),
        "ip_version": Uint(ip_version, 5),
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": Uint(2, 5),
        "binary_format_minor_version": Uint(0, 5),
        "build_epoch": Uint(1_700_000_000, 9),
        "description": {"en": "hotline test database (documentation ranges only)"},
    }
    with open(path, "wb") as out:
        out.write(tree + bytes(16) + data + METADATA_MARKER + encode(metadata))
