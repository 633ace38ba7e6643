"""`imports.parse`: CSV, VICS JSON, NCMEC XML and StopNCII JSON into entries with provenance;
every bad record reported, duplicates not added twice. Made-up hashes only."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from hotline.errors import InvalidInput
from hotline.hashing.signals import VpdqSignal
from hotline.hashing.vpdq import VpdqFrame
from hotline.lists import imports
from hotline.lists.formats import VICS_ODATA, vics_media
from hotline.lists.model import ReleaseEntry

RNG = np.random.default_rng(42)


def hexes(n: int, digits: int) -> list[str]:
    return [bytes(RNG.integers(0, 256, digits // 2, dtype=np.uint8)).hex() for _ in range(n)]


MD5 = hexes(6, 32)
SHA1 = hexes(3, 40)
SHA256 = hexes(3, 64)
PDQ = hexes(4, 64)


def problems(batch: imports.ImportBatch) -> list[str]:
    return [str(p) for p in batch.problems]


def parse(fmt: str, data: bytes | str, **options: int) -> imports.ImportBatch:
    raw = data.encode() if isinstance(data, str) else data
    return imports.parse(fmt, raw, source_name="bank file.dat", **options)


# -- csv ---------------------------------------------------------------------------------------


def test_csv_rows_become_entries_with_line_provenance() -> None:
    data = (
        "\ufeffRef, Category ,MD5,sha1,PDQ,pdq_quality\n"
        f"case-9,A,{MD5[0].upper()},,{PDQ[0]},87\n"
        "\n"
        f",B,,{SHA1[0]},,\n"
    )
    batch = parse("csv", data)
    assert problems(batch) == []
    assert batch.records == 2
    first, second = batch.entries
    assert (first.category, first.md5, first.pdq, first.pdq_quality) == ("A", MD5[0], PDQ[0], 87)
    assert first.source == "csv:bank file.dat#line=2&ref=case-9"
    assert (second.category, second.sha1, second.md5) == ("B", SHA1[0], None)
    assert second.source == "csv:bank file.dat#line=4"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("category,md5,colour", "line 1: colour: unknown column"),
        ("md5,sha1", "line 1: category: the header needs a category column"),
        ("category,pdq_quality", "line 1: md5: the header needs at least one of"),
        ("category,md5,MD5", "line 1: md5: the column appears twice"),
        ("id,ref,category,md5", "line 1: ref: use id or ref, not both"),
    ],
)
def test_csv_header_problems(header: str, expected: str) -> None:
    batch = parse("csv", f"{header}\nA,{MD5[0]},x\n")
    assert any(p.startswith(expected) for p in problems(batch)), problems(batch)
    assert batch.entries == []


def test_csv_every_bad_row_is_named() -> None:
    data = (
        "id,category,md5,sha256,pdq,pdq_quality\n"
        f"1,A,{MD5[0][:-2]},,,\n"  # line 2: too short
        f"2,A,,{'g' * 64},,\n"  # line 3: not hex
        "3,A,,,,\n"  # line 4: no hash
        f"4,Not valid!,{MD5[1]},,,\n"  # line 5: category
        f"5,A,,,{PDQ[0]},high\n"  # line 6: quality
        f"6,A,{MD5[2]}\n"  # line 7: field count
        f"7,A,{MD5[3]},,,\n"  # line 8: fine
    )
    batch = parse("csv", data)
    found = problems(batch)
    for expected in (
        "line 2: md5: md5 hash must be 32 hex digits",
        "line 3: sha256: sha256 hash must be hexadecimal",
        "line 4: md5: an entry needs at least one of",
        "line 5: category:",
        "line 6: pdq_quality: an integer from 0 to 100",
        "line 7: row: 3 fields; the header has 6",
    ):
        assert any(p.startswith(expected) for p in found), (expected, found)
    assert len(found) == 6


def test_csv_quoting_and_encoding_errors() -> None:
    assert problems(parse("csv", f'category,md5\n"A,{MD5[0]}\n'))[0].startswith("line ")
    assert problems(parse("csv", b"category,md5\n\xff\xfe,x\n")) == [
        "file: file: not UTF-8 text (byte 13)"
    ]


def test_csv_duplicates_are_added_once_and_conflicts_refused() -> None:
    data = (
        "category,md5,pdq\n"
        f"A,{MD5[0]},{PDQ[0]}\n"
        f"A,{MD5[0].upper()},{PDQ[0]}\n"  # all repeated: skipped
        f"A,{MD5[1]},{PDQ[0]}\n"  # the PDQ repeated: dropped, the MD5 kept
    )
    batch = parse("csv", data)
    assert problems(batch) == []
    assert [(e.md5, e.pdq) for e in batch.entries] == [(MD5[0], PDQ[0]), (MD5[1], None)]
    assert batch.duplicates == 3
    assert batch.skipped == {"duplicate of an earlier record": 1}

    conflict = parse("csv", f"category,md5\nA,{MD5[0]}\nB,{MD5[0]}\n")
    assert problems(conflict) == [
        "line 3: md5: the same hash is in line 2 with category 'A', here 'B'"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "file: file: the file is empty"),
        (b" \n\n", "file: file: the file is empty"),
        (b"category,md5\n", "file: file: the file holds no records"),
    ],
)
def test_csv_empty(data: bytes, expected: str) -> None:
    assert problems(parse("csv", data)) == [expected]


# -- vics --------------------------------------------------------------------------------------


def vics(*media: object, wrapped: bool = True) -> bytes:
    body = list(media)
    return json.dumps({"odata.metadata": VICS_ODATA, "value": body} if wrapped else body).encode()


@pytest.mark.parametrize("wrapped", [True, False])
def test_vics_media_map_to_categories(wrapped: bool) -> None:
    data = vics(
        {
            "MediaID": 12,
            "Category": 1,
            "MD5": MD5[0].upper(),
            "SHA1": SHA1[0].upper(),
            "AlternativeHashes": [
                {"HashName": "pdq", "HashValue": PDQ[0].upper()},
                {"HashName": "SHA256", "HashValue": SHA256[0]},
                {"HashName": "PhotoDNA", "HashValue": "ignored"},
            ],
        },
        {"MediaID": "m-13", "Category": 2, "MD5": MD5[1]},
        {"Category": 3, "SHA1": SHA1[1]},
        {"MediaID": 15, "Category": 0, "MD5": MD5[2]},
        {"MediaID": 16, "Category": 4, "MD5": MD5[3]},
        {"MediaID": 17, "Category": 1, "AlternativeHashes": [{"HashName": "PhotoDNA"}]},
        wrapped=wrapped,
    )
    batch = parse("vics", data)
    assert problems(batch) == []
    assert batch.records == 6
    first, second, third = batch.entries
    assert (first.category, first.md5, first.sha1, first.pdq, first.sha256) == (
        "vics-1",
        MD5[0],
        SHA1[0],
        PDQ[0],
        SHA256[0],
    )
    assert first.source == "vics:bank file.dat#MediaID=12"
    assert (second.category, second.source) == ("vics-2", "vics:bank file.dat#MediaID=m-13")
    assert (third.category, third.source) == ("vics-3", "vics:bank file.dat#record=3")
    assert batch.skipped == {
        "VICS category 0 (non-pertinent)": 1,
        "VICS category 4 (comparison)": 1,
        "no MD5, SHA1, SHA256, PDQ or vPDQ (other hash types only)": 1,
    }


def test_vics_reads_what_the_release_writer_writes() -> None:
    entry = ReleaseEntry(
        id=7,
        category="A",
        added_at="2024-01-01T00:00:00+00:00",
        md5=MD5[4],
        sha1=SHA1[2],
        sha256=SHA256[1],
        pdq=PDQ[1],
        jurisdictions={"us_vics": "1"},
    )
    data = orjson.dumps({"odata.metadata": VICS_ODATA, "value": [vics_media(entry)]})
    (parsed,) = parse("vics", data).entries
    assert (parsed.category, parsed.md5, parsed.sha1, parsed.sha256, parsed.pdq) == (
        "vics-1",
        MD5[4],
        SHA1[2],
        SHA256[1],
        PDQ[1],
    )


def test_vics_reads_a_videos_vpdq_as_the_release_writer_writes_it() -> None:
    frames = tuple(VpdqFrame(i, 80, PDQ[i % 2], i / 10) for i in range(4))
    entry = ReleaseEntry(
        id=8, category="A", added_at="2024-01-01T00:00:00+00:00", md5=MD5[5], vpdq=frames
    )
    media = vics_media(entry)
    bad = {
        "MediaID": 9,
        "Category": 1,
        "AlternativeHashes": [{"HashName": "VPDQ", "HashValue": "0,80,xyz,0.0"}],
    }
    only_video = {"MediaID": 10, "Category": 3, "AlternativeHashes": media["AlternativeHashes"]}
    batch = parse("vics", orjson.dumps({"value": [media, bad]}))
    assert problems(batch) == [
        "record 2: AlternativeHashes[0] (VPDQ): line 1: "
        "hash must be 64 hex digits, got 3 characters"
    ]
    (parsed,) = parse("vics", orjson.dumps({"value": [media]})).entries
    assert (parsed.md5, parsed.vpdq) == (MD5[5], VpdqSignal.serialise(list(frames)))
    (alone,) = parse("vics", orjson.dumps([only_video])).entries
    assert (alone.category, alone.md5, alone.vpdq) == ("vics-3", None, parsed.vpdq)


def test_vics_problems_name_record_and_field() -> None:
    data = vics(
        {"MediaID": 1, "MD5": MD5[0]},
        {"MediaID": 2, "Category": 5, "MD5": MD5[1]},
        {"MediaID": 3, "Category": True, "MD5": MD5[2]},
        {"MediaID": 4, "Category": 1, "MD5": "xyz"},
        {"MediaID": 5, "Category": 1, "AlternativeHashes": [{"HashName": "PDQ", "HashValue": 3}]},
        "not a record",
        {"MediaID": 7, "Category": 1},
        {"MediaID": 8, "Category": 1, "MD5": MD5[3]},
    )
    found = problems(parse("vics", data))
    assert found == [
        "record 1: Category: a VICS category: a whole number from 0 to 4",
        "record 2: Category: a VICS category: a whole number from 0 to 4",
        "record 3: Category: a VICS category: a whole number from 0 to 4",
        "record 4: MD5: md5 hash must be 32 hex digits, got 3 characters",
        "record 5: AlternativeHashes[0] (PDQ): a hash must be a string",
        "record 6: record: not a JSON object",
        "record 7: MD5: a record needs MD5, SHA1, or a PDQ, SHA256 or vPDQ hash",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"value": [', "file: json: not valid JSON"),
        (b'{"Media": []}', "file: value: a VICS file is an object with a 'value' array"),
        (b'"text"', "file: value: a VICS file is an object"),
        (b'{"value": []}', "file: file: the file holds no records"),
    ],
)
def test_vics_malformed(data: bytes, expected: str) -> None:
    found = problems(parse("vics", data))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_vics_duplicate_media_added_once() -> None:
    data = vics(
        {"MediaID": 1, "Category": 1, "MD5": MD5[0]},
        {"MediaID": 2, "Category": 1, "MD5": MD5[0].upper()},
    )
    batch = parse("vics", data)
    assert len(batch.entries) == 1 and batch.duplicates == 1
    clash = vics(
        {"MediaID": 1, "Category": 1, "MD5": MD5[0]},
        {"MediaID": 2, "Category": 2, "MD5": MD5[0]},
    )
    assert problems(parse("vics", clash)) == [
        "record 2: md5: the same hash is in record 1 with category 'vics-1', here 'vics-2'"
    ]


# -- ncmec -------------------------------------------------------------------------------------

NS = "https://hashsharing.ncmec.org/hashsharing/v2"


def ncmec(body: str, *, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return f'{declaration}<queryResult xmlns="{NS}">{body}</queryResult>'.encode()


def image(ident: str, fingerprints: str, tag: str = "image") -> str:
    return (
        f"<{tag}><id>{ident}</id><member id='42'>Example ESP</member>"
        f"<classification>A1</classification><fingerprints>{fingerprints}</fingerprints></{tag}>"
    )


def test_ncmec_entries_as_threatexchange_reads_them() -> None:
    data = ncmec(
        '<images count="3" maxTimestamp="2024-01-01T00:00:00Z">'
        + image("e1", f"<md5>{MD5[0].upper()}</md5><pdq>{PDQ[0]}</pdq><pdna>opaque</pdna>")
        + image("e2", "<pdna>opaque</pdna><md5/>")
        + "<deletedImage><id>e3</id><member id='42'>Example ESP</member></deletedImage>"
        + "</images>"
        + '<videos count="1" maxTimestamp="2024-01-01T00:00:00Z">'
        + image("v1", f"<md5>{MD5[1]}</md5><sha1>{SHA1[0]}</sha1>", tag="video")
        + "</videos>"
        + "<paging><next>/v2/entries?from=x&amp;start=2&amp;size=1000&amp;max=9</next></paging>"
    )
    batch = parse("ncmec", data)
    assert problems(batch) == []
    assert batch.records == 4
    first, video = batch.entries
    assert (first.category, first.md5, first.pdq) == ("ncmec", MD5[0], PDQ[0])
    assert first.source == "ncmec:bank file.dat#id=e1&member=42&classification=A1"
    assert (video.md5, video.sha1) == (MD5[1], SHA1[0])
    assert batch.skipped == {
        "NCMEC deleted entry": 1,
        "NCMEC entry with no MD5, SHA1 or PDQ fingerprint": 1,
    }


def test_ncmec_entries_directly_under_the_root() -> None:
    data = f"<entries><content><fingerprints><pdq>{PDQ[1]}</pdq></fingerprints></content></entries>"
    (entry,) = parse("ncmec", data).entries
    assert (entry.pdq, entry.source) == (PDQ[1], "ncmec:bank file.dat#record=1")


@pytest.mark.parametrize(
    "data",
    [
        '<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
        '<?xml version="1.0"?>\n<!doctype r SYSTEM "file:///etc/hostname"><r/>',
        "<r><!ENTITY x 'y'></r>",
    ],
)
def test_ncmec_refuses_declarations(data: str) -> None:
    assert problems(parse("ncmec", data)) == [
        "file: xml: DOCTYPE and ENTITY declarations are refused"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<queryResult><images><image>", "file: xml: malformed XML at line 1"),
        ("<r>caf\u00e9</r>".encode("latin-1"), "file: file: not UTF-8 text"),
        (ncmec("", declaration='<?xml version="1.0" encoding="ISO-8859-1"?>'), "file: xml: the"),
        (ncmec("<images/>"), "file: file: the file holds no records"),
    ],
)
def test_ncmec_malformed(data: bytes, expected: str) -> None:
    found = problems(parse("ncmec", data))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_ncmec_bad_fingerprints_are_named() -> None:
    data = ncmec(
        "<images>"
        + image("e1", f"<pdq>{PDQ[0][:-1]}</pdq>")
        + "<image><id>e2</id></image>"
        + image("e3", f"<md5>{MD5[0]}</md5><md5>{MD5[1]}</md5>")
        + image("e4", f"<md5>{MD5[2]}</md5>")
        + "</images>"
    )
    batch = parse("ncmec", data)
    assert problems(batch) == [
        "record 1: fingerprints/pdq: PDQ hash must be 64 hex digits, got 63 characters",
        "record 2: fingerprints: an entry needs <fingerprints>",
        "record 3: fingerprints/md5: a second, different md5 hash",
    ]


# -- stopncii ----------------------------------------------------------------------------------


def stopncii(*records: object) -> bytes:
    return json.dumps(
        {
            "count": len(records),
            "nextPageToken": None,
            "nextSetTimestamp": 1,
            "hasMoreRecords": False,
            "hashRecords": list(records),
        }
    ).encode()


def record(signal: str, value: object, status: str = "Active") -> dict[str, object]:
    return {
        "lastModtimestamp": 1,
        "signalType": signal,
        "hashValue": value,
        "hashStatus": status,
        "caseNumbers": {"case-1": status},
        "CSPFeedbacks": [],
    }


def test_stopncii_records() -> None:
    data = stopncii(
        record("ImagePDQ", PDQ[0].upper()),
        record("VideoMD5", MD5[0], "Received"),
        record("ImagePDQ", PDQ[1], "Withdrawn"),
        record("VideoTMK", "opaque"),
        record("ImagePDQ", PDQ[0]),
    )
    batch = parse("stopncii", data)
    assert problems(batch) == []
    pdq, md5 = batch.entries
    assert (pdq.category, pdq.pdq, pdq.source) == (
        "stopncii",
        PDQ[0],
        "stopncii:bank file.dat#record=1",
    )
    assert (md5.md5, md5.pdq) == (MD5[0], None)
    assert batch.duplicates == 1
    assert batch.skipped == {
        "StopNCII hash withdrawn or deleted": 1,
        "StopNCII VideoTMK (not a hash matched here)": 1,
        "duplicate of an earlier record": 1,
    }
    # A bare array of records is read too.
    bare = json.dumps([record("ImagePDQ", PDQ[2])]).encode()
    assert [e.pdq for e in parse("stopncii", bare).entries] == [PDQ[2]]


def test_stopncii_problems() -> None:
    data = stopncii(
        record("ImagePDQ", "0" * 63),
        record("ImageSomething", PDQ[0]),
        {"hashValue": PDQ[1]},
        record("ImagePDQ", PDQ[2], "Pending"),
        record("VideoMD5", None),
    )
    assert problems(parse("stopncii", data)) == [
        "record 1: hashValue: PDQ hash must be 64 hex digits, got 63 characters",
        "record 2: signalType: unknown; ImagePDQ and VideoMD5 are imported",
        "record 3: signalType: missing",
        "record 4: hashStatus: one of Unknown, Received, Active, Withdrawn, Deleted",
        "record 5: hashValue: a hash must be a string",
    ]
    assert problems(parse("stopncii", b"{"))[0].startswith("file: json: not valid JSON")
    assert problems(parse("stopncii", b'{"count": 0}'))[0].startswith(
        "file: hashRecords: a StopNCII file is an object"
    )


# -- limits and formats ------------------------------------------------------------------------


def test_size_and_record_caps() -> None:
    data = f"category,md5\nA,{MD5[0]}\nA,{MD5[1]}\nA,{MD5[2]}\n".encode()
    assert problems(parse("csv", data, max_bytes=20)) == [
        f"file: file: larger than the {20 / imports.MIB:g} MiB limit; split it"
    ]
    capped = parse("csv", data, max_records=2)
    assert problems(capped) == ["file: file: more than 2 records; split the file"]


def test_too_many_problems_stop_reading() -> None:
    rows = "".join(f"A,bad{i}\n" for i in range(imports.MAX_PROBLEMS + 50))
    found = parse("csv", "category,md5\n" + rows).problems
    assert len(found) == imports.MAX_PROBLEMS + 1
    assert str(found[-1]) == f"file: file: stopped reading after {imports.MAX_PROBLEMS} problems"


def test_unknown_format() -> None:
    with pytest.raises(InvalidInput, match="unknown format"):
        parse("xlsx", b"x")
