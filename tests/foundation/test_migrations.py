"""Migrations are the only way the schema is made; the ORM must agree with them."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.db.models import Base


def test_database_is_at_head(db: Database) -> None:
    assert migrate.current_revision(db) == migrate.head_revision(db)
    assert migrate.is_current(db)


def test_models_match_migrations(db: Database) -> None:
    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(db: Database) -> None:
    migrate.downgrade(db, "base")
    tables = set(inspect(db.writer).get_table_names()) - {"alembic_version"}
    assert tables == set()
    migrate.upgrade(db)
    assert migrate.is_current(db)
    assert {"users", "audit_log", "reports", "reported_urls"} <= set(
        inspect(db.writer).get_table_names()
    )
