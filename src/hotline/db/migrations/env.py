"""Alembic environment: runs on the Database handed over in config.attributes."""

from __future__ import annotations

from alembic import context

from hotline.db.models import Base

config = context.config
database = config.attributes["database"]

with database.writer.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=database.is_sqlite,  # SQLite alters tables by copy
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
