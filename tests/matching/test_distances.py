"""Each list's maximum distance per signal type (PDQ, vPDQ frames, a plug-in's: the example
dHash), set through `lists.actions.configure` (and `hotline lists configure`), applies in every
matching path: the match API, the HMA-compatible lookup, list files and releases read by
`hotline match`. Hashes are random; the video's frames are random PDQ hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hotline_dhash import DHashSignal
from sqlalchemy import select
from typer.testing import CliRunner

from hotline import known
from hotline.cli import app as cli
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.hashing.vpdq import VpdqFrame
from hotline.known import KnownHashes
from hotline.known.index import index_for
from hotline.lists import actions, release
from hotline.matching import list_files, store
from hotline.matching.matcher import Matcher, StaticSource
from hotline.matching.model import VPDQ, HashQuery, ListEntry
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.matching.conftest import bearer
from tests.matching.helpers import entry, entry_ids, flip_bits, make_key, make_list, random_pdq

ADMIN = Actor(1, "admin1", frozenset({Role.admin}), True)
RNG = np.random.default_rng(19)
PDQ = random_pdq(RNG)
DHASH = "f0f0f0f0f0f0f0f0"


def dhash_at(bits: int) -> str:
    return f"{int(DHASH, 16) ^ ((1 << bits) - 1):016x}"  # the lowest `bits` bits flipped


def configure(db: Database, name: str, **distances: int) -> None:
    with db.write() as session:
        actions.configure(session, ADMIN, name, max_distances=distances)


@pytest.fixture
def key(db: Database) -> str:
    make_list(db, "alpha", [entry(pdq=PDQ, category="A"), entry(dhash=DHASH, category="B")])
    return make_key(db, "platform", ["alpha"])


def api_distances(client: TestClient, key: str, kind: str, value: str) -> list[int]:
    response = client.post("/api/v1/match", json={kind: value}, headers=bearer(key))
    assert response.status_code == 200, response.text
    return [m["distance"] for m in response.json()["results"][0]["matches"]]


def hma_distances(client: TestClient, key: str, kind: str, value: str) -> list[int]:
    response = client.get(
        "/m/lookup", params={"signal_type": kind, "signal": value}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return [int(m["distance"]) for m in response.json().get("ALPHA", [])]


def test_pdq_distance_applies_to_the_api_and_the_hma_lookup(
    mclient: TestClient, db: Database, key: str
) -> None:
    near = flip_bits(PDQ, 12, np.random.default_rng(3))
    for search in (api_distances, hma_distances):
        assert search(mclient, key, "pdq", near) == [12]
    configure(db, "alpha", pdq=10)
    for search in (api_distances, hma_distances):
        assert search(mclient, key, "pdq", near) == []
        assert search(mclient, key, "pdq", flip_bits(PDQ, 10)) == [10]
    with db.read() as session:
        assert store.get_list(session, "alpha").pdq_max_distance == 10


def test_plug_in_distance_applies_to_the_api_and_the_hma_lookup(
    mclient: TestClient, db: Database, key: str
) -> None:
    assert DHashSignal.max_distance > 3
    for search in (api_distances, hma_distances):
        assert search(mclient, key, "dhash", dhash_at(3)) == [3]  # the plug-in's default
    configure(db, "alpha", dhash=2)
    for search in (api_distances, hma_distances):
        assert search(mclient, key, "dhash", dhash_at(3)) == []
        assert search(mclient, key, "dhash", dhash_at(2)) == [2]
    # Setting another type keeps this one; PDQ keeps its own.
    configure(db, "alpha", vpdq=20)
    with db.read() as session:
        info = store.get_list(session, "alpha")
    assert info.distances() == {"pdq": 31, "dhash": 2, "vpdq": 20}
    assert api_distances(mclient, key, "dhash", dhash_at(3)) == []


def test_configure_is_audited_with_the_distances(db: Database, key: str) -> None:
    configure(db, "alpha", pdq=20, dhash=4)
    with db.read() as session:
        row = session.execute(
            select(AuditRow).where(AuditRow.action == "hash_list.configured")
        ).scalar_one()
    assert json.loads(row.detail)["max_distances"] == {"pdq": 20, "dhash": 4}
    assert row.actor == "admin1"


@pytest.mark.parametrize(
    ("distances", "field"),
    [
        ({"md5": 0}, "max_distances.md5"),
        ({"sha256": 1}, "max_distances.sha256"),
        ({"tmk": 3}, "max_distances.tmk"),
        ({"pdq": 64}, "max_distances.pdq"),
        ({"pdq": -1}, "max_distances.pdq"),
        ({"vpdq": 64}, "max_distances.vpdq"),
        ({"dhash": DHashSignal.max_distance + 1}, "max_distances.dhash"),
        ({"pdq": True}, "max_distances.pdq"),
        ({"pdq": "8"}, "max_distances.pdq"),
    ],
)
def test_bad_distances_are_refused_and_change_nothing(
    db: Database, key: str, distances: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught, db.write() as session:
        actions.configure(session, ADMIN, "alpha", categories=["A"], max_distances=distances)  # type: ignore[arg-type]
    assert field in [f.field for f in caught.value.fields]
    with db.read() as session:
        assert store.get_list(session, "alpha").distances() == {"pdq": 31}


def test_url_lists_take_no_distances(db: Database) -> None:
    make_list(db, "links", kind="url")
    with pytest.raises(Exception, match="only hash lists"), db.write() as session:
        actions.configure(session, ADMIN, "links", max_distances={"pdq": 8})


# -- list files, releases and the offline matcher ---------------------------------------------


def test_list_files_carry_the_distances_to_the_offline_matcher(
    db: Database, key: str, tmp_path: Path
) -> None:
    configure(db, "alpha", pdq=8, dhash=2)
    out = StringIO()
    with db.write() as session:
        actions.export_list(session, ADMIN, "alpha", out, datetime.now(UTC))
    header = json.loads(out.getvalue().splitlines()[0])
    assert header["pdq_max_distance"] == 8 and header["max_distances"] == {"dhash": 2}
    path = tmp_path / "alpha.jsonl"
    path.write_text(out.getvalue())
    info, entries = list_files.read(path)
    assert info.distances() == {"pdq": 8, "dhash": 2}
    matcher = Matcher(StaticSource([(info, entries)]))
    queries = [
        HashQuery("pdq", flip_bits(PDQ, 9)),
        HashQuery("pdq", flip_bits(PDQ, 8)),
        HashQuery("dhash", dhash_at(3)),
        HashQuery("dhash", dhash_at(2)),
    ]
    hits = matcher.match(queries, ["alpha"]).hits
    assert [[h.distance for h in found] for found in hits] == [[], [8], [], [2]]


def test_a_list_file_without_distances_matches_at_the_defaults(
    db: Database, key: str, tmp_path: Path
) -> None:
    out = StringIO()
    with db.write() as session:
        actions.export_list(session, ADMIN, "alpha", out, datetime.now(UTC))
    lines = out.getvalue().splitlines()
    header = json.loads(lines[0])
    del header["max_distances"]  # a file written before they existed
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    info, entries = list_files.read(path)
    hits = Matcher(StaticSource([(info, entries)])).match(
        [HashQuery("dhash", dhash_at(DHashSignal.max_distance))], ["alpha"]
    )
    assert [h.distance for h in hits.hits[0]] == [DHashSignal.max_distance]


@pytest.mark.parametrize("bad", [[1], {"dhash": -1}, {"dhash": "2"}, {"dhash": 999}])
def test_list_files_with_bad_distances_are_refused(
    db: Database, key: str, tmp_path: Path, bad: object
) -> None:
    out = StringIO()
    with db.write() as session:
        actions.export_list(session, ADMIN, "alpha", out, datetime.now(UTC))
    lines = out.getvalue().splitlines()
    header = {**json.loads(lines[0]), "max_distances": bad}
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(list_files.ListFileError, match="line 1: bad header"):
        list_files.read(path)


def test_releases_carry_the_distances(
    db: Database, settings: Settings, key: str, tmp_path: Path
) -> None:
    configure(db, "alpha", pdq=7, dhash=1)
    made = release.publish(db, tmp_path / "releases", "alpha", settings.secret, "test")
    info, entries = list_files.read(made.path / "entries.jsonl")
    assert info.distances() == {"pdq": 7, "dhash": 1}
    hits = Matcher(StaticSource([(info, entries)])).match(
        [HashQuery("dhash", dhash_at(2)), HashQuery("dhash", dhash_at(1))], ["alpha"]
    )
    assert [[h.distance for h in found] for found in hits.hits] == [[], [1]]


def test_vpdq_frame_distance_is_the_lists(db: Database) -> None:
    """A video matches within the list's vPDQ frame distance, by default its PDQ distance."""
    rng = np.random.default_rng(11)
    frames = tuple(VpdqFrame(i, 90, random_pdq(rng), float(i)) for i in range(5))
    query = tuple(VpdqFrame(f.frame, 90, flip_bits(f.pdq, 6, rng), f.timestamp) for f in frames)
    video = ListEntry(1, "A", vpdq=frames)
    make_list(db, "films")
    with db.read() as session:
        info = store.get_list(session, "films")
    ask = [HashQuery(VPDQ, "", query)]

    def hits(distances: tuple[tuple[str, int], ...], pdq: int = 31) -> list[int]:
        changed = type(info)(
            info.id, info.name, "", pdq, 1, max_distances=distances
        )  # same list, other settings
        answer = Matcher(StaticSource([(changed, [video])])).match(ask, ["films"])
        return [h.entry_id for h in answer.hits[0]]

    assert hits(()) == [1]
    assert hits((), pdq=5) == []  # no vPDQ setting: the PDQ distance applies per frame
    assert hits((("vpdq", 5),)) == []
    assert hits((("vpdq", 6),), pdq=5) == [1]


# -- the CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def runner(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_cli_configure_export_and_match_offline(
    runner: CliRunner, db: Database, key: str, tmp_path: Path
) -> None:
    done = runner.invoke(
        cli, ["lists", "configure", "alpha", "--max-distance", "pdq=9", "--max-distance", "DHASH=2"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["max_distances"] == {"pdq": 9, "dhash": 2}
    listed = runner.invoke(cli, ["lists", "list", "--json"])
    assert json.loads(listed.stdout)["max_distances"] == {"pdq": 9, "dhash": 2}
    out = tmp_path / "alpha.jsonl"
    exported = runner.invoke(cli, ["lists", "export", "alpha", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    matched = runner.invoke(
        cli,
        [
            "match",
            "--list",
            str(out),
            f"pdq:{flip_bits(PDQ, 10)}",
            f"pdq:{flip_bits(PDQ, 9)}",
            f"dhash:{dhash_at(3)}",
            f"dhash:{dhash_at(2)}",
        ],
    )
    assert matched.exit_code == 0, matched.output
    lines = [json.loads(line) for line in matched.stdout.splitlines()]
    assert [[m["distance"] for m in line["matches"]] for line in lines] == [[], [9], [], [2]]
    assert entry_ids(db, "alpha")


@pytest.mark.parametrize("value", ["pdq", "pdq=", "=3", "pdq=x", "pdq=-1"])
def test_cli_bad_distance_options_exit_2(runner: CliRunner, key: str, value: str) -> None:
    done = runner.invoke(cli, ["lists", "configure", "alpha", "--max-distance", value])
    assert done.exit_code == 2 and "TYPE=N" in done.output


def test_cli_refused_distances_exit_2(runner: CliRunner, key: str) -> None:
    done = runner.invoke(cli, ["lists", "configure", "alpha", "--max-distance", "md5=0"])
    assert done.exit_code == 2 and "exact type" in done.output


def test_members_see_the_distances_in_the_list_index(
    mclient: TestClient, db: Database, key: str
) -> None:
    configure(db, "alpha", pdq=12, dhash=3)
    listed = mclient.get("/api/v1/lists", headers=bearer(key))
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["lists"]
    assert item["max_distances"] == {"pdq": 12, "dhash": 3} and item["pdq_max_distance"] == 12


def test_the_known_material_index_takes_the_lists_distances(db: Database, key: str) -> None:
    """The known-material lookup reads lists through its own `Matcher`: a changed distance
    reaches it at its next refresh, with no new list version."""
    near = KnownHashes(pdq=flip_bits(PDQ, 8), pdq_quality=90)
    with db.read() as session:
        (before,) = known.lookup(session, [near])
    assert before is not None and before.distance == 8
    configure(db, "alpha", pdq=6, dhash=1)
    with db.read() as session:
        (after,) = known.lookup(session, [near])
        lists = index_for(session).lists
    assert after is None
    found = lists.match(
        [HashQuery("dhash", dhash_at(2)), HashQuery("dhash", dhash_at(1))], ["alpha"]
    )
    assert [[h.distance for h in hits] for hits in found.hits] == [[], [1]]
