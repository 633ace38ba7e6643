"""The grading page's search over media items (/staff/grading with a search or a filter):
hash prefixes, filters, sort, pages by key, CSV (hashes and states only, formula-safe,
audited), bad parameters, permissions; and the host directory's search and filters. Both
databases (the `db` fixture)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.security.tables import AuditRow
from hotline.takedown.tables import HostingProviderRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _seed(db: Database) -> None:
    """Items 1..4, one a day: 1 and 2 found on example.com (2 graded A), 3 a known match
    (category B, inherited), 4 a video on =evil.example.net awaiting grades."""
    rows = [
        ("https://example.com/1.png", "image", "awaiting_grades", None, None),
        ("https://www.example.com/2.png", "image", "agreed", '{"category": "A"}', None),
        ("https://example.org/3.png", "image", "known_match", None, "B"),
        ("https://x.example.net/4.mp4", "video", "awaiting_grades", None, None),
    ]
    with db.write() as session:
        for i, (url, kind, status, grade, inherited) in enumerate(rows, start=1):
            session.execute(
                insert(MediaItemRow).values(
                    id=i,
                    source_url=url,
                    kind=kind,
                    md5=f"{i:x}" * 32,
                    sha1=f"{i:x}" * 40,
                    sha256=f"{i:x}" * 4 + "ab" * 30,
                    pdq=("f" * 8 + f"{i:x}" * 56) if i != 4 else None,
                    byte_count=10,
                    status=status,
                    stored=False,
                    qa_sampled=False,
                    final_grade=grade,
                    inherited_category=inherited,
                    created_at=T0 + timedelta(days=i),
                )
            )


def _ids(html: str) -> list[int]:
    table = html.split('id="media-items"', 1)[1] if 'id="media-items"' in html else ""
    return [int(part.split('"')[0]) for part in table.split('data-media-id="')[1:]]


def test_search_filters_and_pages(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    analyst = login_as(["analyst"])

    def shown(**params: str) -> list[int]:
        page = analyst.get("/staff/grading", params=params)
        assert page.status_code == 200, page.text
        assert 'class="thumb"' not in page.text  # never a preview in search results
        return _ids(page.text)

    assert shown(q="") == [4, 3, 2, 1]
    assert shown(q="2222") == [2]  # SHA-256 prefix (and MD5)
    assert shown(q="FFFFFFFF3") == [3]  # PDQ prefix, any case
    assert shown(q="33333333333333333333333333333333") == [3]  # a whole MD5
    assert shown(state="awaiting_grades") == [4, 1]
    assert shown(category="A") == [2]
    assert shown(category="B") == [3]
    assert shown(kind="video") == [4]
    assert shown(domain="example.com") == [2, 1]
    assert shown(domain="example.net") == [4]
    assert shown(domain="X.Example.net") == [4]  # a host: that host
    assert shown(domain="y.example.net") == [] and shown(domain="ample.net") == []
    assert shown(domain="www.x.example.net") == [4]  # "www." dropped
    assert shown(domain="www.example.com") == [2, 1]  # "www." dropped, as intake drops it
    assert shown(**{"from": "2026-03-03", "to": "2026-03-04"}) == [3, 2]
    seen, params = [], {"sort": "id", "dir": "asc", "size": "3"}
    page = analyst.get("/staff/grading", params=params)
    seen += _ids(page.text)
    href = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    seen += _ids(analyst.get("/staff/grading" + href.replace("&amp;", "&")).text)
    assert seen == [1, 2, 3, 4]
    # A page link with only its place (a bookmark, a shortened link) is still this list's.
    page = analyst.get("/staff/grading", params={"size": "2"})
    after = page.text.split('rel="next"')[0].split("after=")[1].split('"')[0]
    assert shown(after=after) == [2, 1]
    # Known material is listed by hash, never linked to a page that could show it.
    assert 'href="/staff/grading/3"' not in analyst.get("/staff/grading", params={"q": ""}).text


def test_csv_hashes_and_states_audited(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    with db.write() as session:
        session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.id == 4)
            .values(source_url="https://=cmd.example.net/4.mp4")
        )
    analyst = login_as(["analyst"])
    response = analyst.get("/staff/grading/export.csv", params={"kind": "video"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "id", "kind", "state", "category", "sha256", "md5", "pdq",
        "found_on_host", "url_id", "found_at", "decided_at",
    ]  # fmt: skip
    assert rows[1][0] == "4" and rows[1][7] == "'=cmd.example.net"
    with db.read() as session:
        actions = set(session.execute(select(AuditRow.action)).scalars())
    assert "media.export" in actions


@pytest.mark.parametrize(
    "params,field",
    [
        ({"q": "xyz1"}, "q"),
        ({"q": "abc"}, "q"),  # too short
        ({"state": "lost"}, "state"),
        ({"category": "D"}, "category"),
        ({"domain": "https://example.com/x"}, "domain"),
        ({"from": "2026-02-30"}, "from"),
        ({"sort": "sha256"}, "sort"),
    ],
)
def test_bad_parameters(params, field, db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    analyst = login_as(["analyst"])
    page = analyst.get("/staff/grading", params=params)
    assert page.status_code == 422 and f"<li>{field}:" in page.text
    value = next(iter(params.values()))
    assert f'value="{value}"' in page.text or f'value="{value}" selected' not in page.text
    assert analyst.get("/staff/grading/export.csv", params=params).status_code == 422


def test_search_needs_image_grade_and_is_audited(db: Database, login_as, client, staff) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    login_as(["analyst"]).get("/staff/grading", params={"q": "1111"})
    with db.read() as session:
        details = list(
            session.execute(
                select(AuditRow.detail).where(AuditRow.action == "media.list")
            ).scalars()
        )
    assert details and "1111" in str(details[-1])
    staff.login(client, ["takedown_officer"])
    assert client.get("/staff/grading", params={"q": "1111"}).status_code == 403
    assert client.get("/staff/grading/export.csv").status_code == 403


def test_host_directory_search_and_filters(db: Database, login_as) -> None:  # type: ignore[no-untyped-def]
    with db.write() as session:
        for i, (name, countries, email, channel) in enumerate(
            [
                ("Alpha Hosting", "GB,FR", "abuse@alpha.example.com", "email"),
                ("Beta Cloud", "DE", None, "webhook"),
                ("Gamma_Net", "FR", "noc@gamma.example.org", "email"),
            ]
        ):
            session.execute(
                insert(HostingProviderRow).values(
                    name=name,
                    asns=str(64500 + i),
                    countries=countries,
                    abuse_email=email,
                    webhook_url="https://hooks.example.net/b" if channel == "webhook" else None,
                    channel=channel,
                    language="en",
                    created_at=T0,
                    updated_at=T0 + timedelta(days=i),
                )
            )
    officer = login_as(["takedown_officer"])

    def names(**params: str) -> list[str]:
        page = officer.get("/staff/hosts", params=params)
        assert page.status_code == 200
        return [n for n in ("Alpha Hosting", "Beta Cloud", "Gamma_Net") if f">{n}</a>" in page.text]

    assert names() == ["Alpha Hosting", "Beta Cloud", "Gamma_Net"]
    assert names(q="alpha.example.com") == ["Alpha Hosting"]
    assert names(q="example.net") == ["Beta Cloud"]
    assert names(q="_") == ["Gamma_Net"]  # a literal underscore, not a wildcard
    assert names(country="fr") == ["Alpha Hosting", "Gamma_Net"]
    assert names(channel="webhook") == ["Beta Cloud"]
    page = officer.get("/staff/hosts", params={"sort": "updated", "dir": "desc", "size": "1"})
    assert ">Gamma_Net</a>" in page.text and 'rel="next"' in page.text
    bad = officer.get("/staff/hosts", params={"country": "FRA", "q": "kept"})
    assert bad.status_code == 422 and "<li>country:" in bad.text and 'value="kept"' in bad.text
    with db.read() as session:
        details = list(
            session.execute(
                select(AuditRow.detail).where(AuditRow.action == "hosting_provider.viewed")
            ).scalars()
        )
    assert any("example.net" in str(d) for d in details)
