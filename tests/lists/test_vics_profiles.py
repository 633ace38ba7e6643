"""VICS JSON: the 1.3 and 2.0 (Default, US, UK) data models written as VICS tools read them
(scalar `Tags`, integer `Category`, upper-case MD5/SHA1), and read back in both versions and
both layouts (flat `#Media`, case-wrapped `#Cases`). Fixtures are built from the published
field names with random hashes."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.lists import formats, imports, release
from hotline.lists.formats import VICS_PROFILES, HashingFile, VicsWriter
from hotline.lists.import_cli import import_command
from hotline.lists.model import ReleaseEntry
from hotline.taskforce import manifests
from hotline.taskforce.model import Refused, SourceKind
from tests.lists.helpers import entries, new_list

V13 = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml"
V20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{}/$metadata"
ADDED = "2026-01-02T03:04:05+00:00"


def md5() -> str:
    return secrets.token_hex(16)


def sha1() -> str:
    return secrets.token_hex(20)


def entry(number: int, **extra: object) -> ReleaseEntry:
    return ReleaseEntry(
        id=number,
        category="B",
        added_at=ADDED,
        md5=md5(),
        sha1=sha1(),
        sha256=secrets.token_hex(32),
        pdq=secrets.token_hex(32),
        jurisdictions={"us_vics": "1"},
        **extra,  # type: ignore[arg-type]
    )


def write(tmp_path: Path, profile: str, items: list[ReleaseEntry]) -> dict:
    writer = VicsWriter(profile)
    path = tmp_path / f"vics-{profile}.json"
    out = HashingFile(path)
    writer.begin(out, {})
    for item in items:
        writer.emit(writer.encode(item, item.record()))
    writer.end()
    out.close()
    return json.loads(path.read_bytes())


def parse(doc: object) -> imports.ImportBatch:
    return imports.parse("vics", json.dumps(doc).encode(), source_name="case.json")


def media(**fields: object) -> dict[str, object]:
    return {"MediaID": 7, "Category": 1, "MD5": md5().upper(), "Tags": "reviewed", **fields}


# -- writing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "key", "model"),
    [
        ("1.3", "odata.metadata", f"{V13}#Media"),
        ("2.0-default", "@odata.context", V20.format("Default") + "#Media"),
        ("2.0-us", "@odata.context", V20.format("US") + "#Media"),
        ("2.0-uk", "@odata.context", V20.format("UK") + "#Media"),
    ],
)
def test_each_profile_names_its_data_model_and_writes_scalar_fields(
    tmp_path: Path, profile: str, key: str, model: str
) -> None:
    item = entry(1)
    doc = write(tmp_path, profile, [item, entry(2)])
    assert list(doc) == [key, "value"] and doc[key] == model
    first = doc["value"][0]
    assert first["Tags"] == "UK category B"  # one string: an array makes importers skip it
    assert first["Category"] == 1 and isinstance(first["Category"], int)
    assert first["MD5"] == item.md5.upper() and first["SHA1"] == item.sha1.upper()  # type: ignore[union-attr]
    assert first["DateUpdated"] == ADDED
    alternatives = {a["HashName"]: a["HashValue"] for a in first["AlternativeHashes"]}
    assert alternatives == {"PDQ": item.pdq, "SHA256": item.sha256}


def test_default_profile_is_1_3_and_unknown_profiles_are_refused() -> None:
    assert VicsWriter().profile == formats.VICS_DEFAULT_PROFILE == "1.3"
    assert f"{V13}#Media" == formats.VICS_ODATA
    assert VicsWriter(" 2.0-UK ").profile == "2.0-uk"
    with pytest.raises(InvalidInput, match=r"unknown VICS profile '2\.1'; use one of 1\.3"):
        VicsWriter("2.1")


def test_plugin_signals_stay_in_alternative_hashes(tmp_path: Path) -> None:
    item = entry(1, signals={"dhash": "0f" * 8})
    first = write(tmp_path, "2.0-us", [item])["value"][0]
    names = [a["HashName"] for a in first["AlternativeHashes"]]
    assert names == ["PDQ", "SHA256", "dhash"]


@pytest.mark.parametrize("profile", list(VICS_PROFILES))
def test_every_profile_round_trips_through_the_import(tmp_path: Path, profile: str) -> None:
    items = [entry(n) for n in range(1, 4)]
    doc = write(tmp_path, profile, items)
    batch = parse(doc)
    assert batch.problems == [] and batch.records == 3
    got = {(e.md5, e.sha1, e.sha256, e.pdq, e.category) for e in batch.entries}
    assert got == {(i.md5, i.sha1, i.sha256, i.pdq, "vics-1") for i in items}


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "base"),
    [
        ("odata.metadata", V13),
        ("odata.metadata", "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/1.3.xml"),
        ("@odata.context", V20.format("Default")),
        ("@odata.context", V20.format("US")),
        ("@odata.context", V20.format("UK")),
    ],
)
def test_both_versions_read_flat_and_case_wrapped(key: str, base: str) -> None:
    flat = [media(MediaID=1), media(MediaID=2, Tags=["a", "b"])]
    cases = [
        {"CaseID": 1, "Media": [media(MediaID=3), media(MediaID=4, Category="1")]},
        {"CaseID": 2, "Media": [media(MediaID=5, MD5=md5().lower())]},
    ]
    as_media = parse({key: f"{base}#Media", "value": flat})
    as_cases = parse({key: f"{base}#Cases", "value": cases})
    assert as_media.problems == [] and len(as_media.entries) == 2
    assert as_cases.problems == [] and len(as_cases.entries) == 3
    assert as_cases.records == 3
    expected = {m["MD5"].lower() for c in cases for m in c["Media"]}  # type: ignore[attr-defined]
    assert {e.md5 for e in as_cases.entries} == expected


def test_case_wrapped_media_without_a_header_are_read_too() -> None:
    batch = parse({"value": [{"Media": [media(MediaID=9)]}]})
    assert batch.problems == [] and len(batch.entries) == 1


@pytest.mark.parametrize(
    "model",
    [
        "x",
        "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
        "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/FR/$metadata#Media",
        f"{V13}#Reports",
        3,
    ],
)
def test_an_unknown_data_model_is_refused_naming_what_was_found(model: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse({"odata.metadata": model, "value": [media()]})
    message = str(raised.value)
    assert "unknown VICS data model" in message and repr(model) in message
    assert "1.3.xml#Media" in message and "2.0.xml/Default|US|UK" in message


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"value": [media(), media(Tags=3)]}, "record 2: Tags: a string (or an array of strings)"),
        ({"value": [media(Tags=["a", 1])]}, "record 1: Tags: a string (or an array of strings)"),
        ({"value": [media(Category="one")]}, "record 1: Category: a VICS category"),
        (
            {"odata.metadata": f"{V13}#Cases", "value": [{"Media": [media()]}, {"Media": 5}]},
            "record 2: value[1].Media: a case's Media is an array",
        ),
        (
            {"odata.metadata": f"{V13}#Cases", "value": [{"Media": [media(), "x"]}]},
            "record 2: value[0].Media[1]: not a JSON object",
        ),
        ({"value": {"MD5": md5()}}, "file: value: a VICS file is an object"),
    ],
)
def test_wrong_types_are_problems_naming_the_record(doc: object, expected: str) -> None:
    batch = parse(doc)
    assert batch.entries == [] or batch.problems
    assert any(str(p).startswith(expected) for p in batch.problems), batch.problems


def test_the_import_command_refuses_an_unknown_model_without_a_traceback(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    app = typer.Typer()
    app.command()(import_command)
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"odata.metadata": "http://example.org/other", "value": []}))
    result = CliRunner().invoke(app, ["bank", str(path), "--format", "vics", "--create"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "unknown VICS data model" in result.output
    assert "http://example.org/other" in result.output


def test_taskforce_manifests_read_case_wrapped_vics(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    first, second = md5(), md5()
    doc = {
        "@odata.context": V20.format("UK") + "#Cases",
        "value": [
            {"CaseID": 1, "Media": [media(MD5=first.upper())]},
            {"Media": [media(MD5=second)]},
        ],
    }
    path.write_text(json.dumps(doc))
    assert manifests.check(path, SourceKind.vics) == 2
    assert [r.md5 for r in manifests.rows(path, SourceKind.vics)] == [first, second]


# -- releases ----------------------------------------------------------------------------------


def test_a_release_writes_the_chosen_profile_and_names_it(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    new_list(db, "alpha", entries(3))
    made = release.publish(db, tmp_path / "r", "alpha", settings.secret, "test", "2.0-uk")
    doc = json.loads((made.path / "vics.json").read_text())
    assert doc["@odata.context"] == V20.format("UK") + "#Media" and len(doc["value"]) == 3
    assert all(isinstance(m["Tags"], str) for m in doc["value"])
    header = json.loads((made.path / "entries.jsonl").read_text().splitlines()[0])
    assert header["vics_profile"] == "2.0-uk"
    assert parse(doc).problems == []
    with pytest.raises(InvalidInput, match="unknown VICS profile"):
        release.publish(db, tmp_path / "r", "alpha", settings.secret, "test", "9")


@pytest.mark.parametrize("layout", ["Media", "Cases"])
def test_truncated_and_huge_files_are_problems(layout: str) -> None:
    value = [media()] if layout == "Media" else [{"Media": [media()]}]
    data = json.dumps({"odata.metadata": f"{V13}#{layout}", "value": value}).encode()
    cut = imports.parse("vics", data[: len(data) // 2], source_name="case.json")
    assert str(cut.problems[0]).startswith("file: json: not valid JSON")
    huge = imports.parse("vics", data, source_name="case.json", max_bytes=len(data) - 1)
    assert [str(p) for p in huge.problems] == [
        "file: file: larger than the " + (f"{(len(data) - 1) / imports.MIB:g} MiB limit; split it")
    ]
    assert cut.entries == huge.entries == []


@pytest.mark.parametrize("model", ['"http://example.org/$metadata"', "7", '"x\\"y"'])
def test_taskforce_manifests_refuse_an_unknown_data_model(tmp_path: Path, model: str) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"odata.metadata": ' + model + ', "value": [' + json.dumps(media()) + "]}")
    with pytest.raises(Refused, match=r"unknown VICS data model: odata\.metadata is") as raised:
        manifests.check(path, SourceKind.vics)
    assert "1.3.xml#Media" in str(raised.value)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"@odata.context": V20.format("US") + "#Media", "value": [media()]}))
    assert manifests.check(good, SourceKind.vics) == 1
