"""Storage round trips and the idempotent seed, on every backend the `db` fixture offers."""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from hotline.advice import store
from hotline.advice.model import AgeBand, GuideText, ResourceFacts, ResourceKind, ResourceText
from hotline.advice.seed import seed_advice, seed_guides, seed_resources
from hotline.advice.tables import AgeGuideRow, ResourceRow, ResourceTextRow
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security import audit
from hotline.security.tables import AuditRow

LANGS = ["en", "fr"]


def _counts(db: Database) -> tuple[int, int, int, int]:
    with db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(AgeGuideRow)) or 0,
            session.scalar(select(func.count()).select_from(ResourceRow)) or 0,
            session.scalar(select(func.count()).select_from(ResourceTextRow)) or 0,
            session.scalar(select(func.count()).select_from(AuditRow)) or 0,
        )


def test_seed_adds_english_and_french_once(db: Database) -> None:
    first = seed_advice(db)
    assert first.guides_added == 2 * len(AgeBand)
    assert first.resources_added > 0
    after_first = _counts(db)
    second = seed_advice(db)
    assert (second.guides_added, second.resources_added) == (0, 0)
    assert _counts(db) == after_first  # not even an audit entry the second time
    with db.read() as session:
        guides = store.load_guides(session)
        assert all(set(g.texts) == {"en", "fr"} for g in guides.values())
        for kind in ResourceKind:
            items = store.list_resources(session, kind)
            assert items, kind
            assert all(set(r.texts) == {"en", "fr"} for r in items)
        assert audit.verify(session).ok


def test_seed_never_overwrites_an_editor_change(db: Database) -> None:
    seed_advice(db)
    edited = GuideText("Edited", "Edited summary", "Edited body")
    with db.write() as session:
        store.save_guide(session, AgeBand.under_5, {"en": edited}, ["en"], "editor")
    seed_advice(db)
    with db.read() as session:
        assert store.load_guide(session, AgeBand.under_5).texts["en"] == edited


def test_seed_content_is_valid_and_points_only_at_https_sites() -> None:
    guides = seed_guides()
    assert all(set(texts) == {"en", "fr"} for texts in guides.values())
    for _slug, form in seed_resources():
        assert form.facts.url.startswith("https://")
    slugs = [slug for slug, _ in seed_resources()]
    assert len(slugs) == len(set(slugs))


def test_example_videos_are_marked_as_examples() -> None:
    videos = [f for _s, f in seed_resources() if f.facts.kind is ResourceKind.video]
    assert videos and all(f.facts.is_example for f in videos)


def test_save_guide_reports_changes_and_removes_blanked_translations(db: Database) -> None:
    en = GuideText("T", "S", "B")
    fr = GuideText("T-fr", "S-fr", "B-fr")
    with db.write() as session:
        assert store.save_guide(session, AgeBand.age_5_7, {"en": en, "fr": fr}, LANGS, "e") == [
            "en",
            "fr",
        ]
    with db.write() as session:
        assert store.save_guide(session, AgeBand.age_5_7, {"en": en, "fr": fr}, LANGS, "e") == []
    with db.write() as session:
        assert store.save_guide(session, AgeBand.age_5_7, {"en": en}, LANGS, "e") == ["fr"]
    with db.read() as session:
        assert set(store.load_guide(session, AgeBand.age_5_7).texts) == {"en"}


def test_resource_round_trip_and_update(db: Database) -> None:
    facts = ResourceFacts(
        ResourceKind.helpline, "https://example.org/", country="GB", phone="0800 1111", position=3
    )
    with db.write() as session:
        created = store.create_resource(session, facts, {"en": ResourceText("A", "a")}, "e")
    assert created.slug.startswith("helpline-a-")
    assert created.facts == facts
    moved = ResourceFacts(ResourceKind.helpline, "https://example.org/b", country="FR")
    with db.write() as session:
        changed = store.update_resource(
            session,
            created.id,
            moved,
            {"en": ResourceText("A", "a"), "fr": ResourceText("A-fr", "a-fr")},
            LANGS,
            "e",
        )
    assert changed == ["facts", "fr"]
    with db.read() as session:
        loaded = store.get_resource(session, created.id)
    assert loaded.facts == moved
    assert loaded.texts["fr"] == ResourceText("A-fr", "a-fr")


def test_migration_downgrade_removes_advice_tables_and_upgrade_restores(db: Database) -> None:
    seed_advice(db)
    migrate.downgrade(db, "0001_foundation")
    names = set(inspect(db.writer).get_table_names())
    assert not {n for n in names if n.startswith("advice_")}
    migrate.upgrade(db)
    assert {"advice_age_guides", "advice_resources", "advice_resource_texts"} <= set(
        inspect(db.writer).get_table_names()
    )
    assert seed_advice(db).guides_added == 2 * len(AgeBand)
