"""Alembic environment: runs on the connection handed over by `db.migrate` (no ini file, no logging setup)."""

from alembic import context

from inspect_pipeline.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
