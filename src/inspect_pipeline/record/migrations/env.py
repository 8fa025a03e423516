"""Alembic environment: runs on the connection handed over by `db.migrate` (no ini file, no logging setup)."""

from alembic import context

# absolute: Alembic loads this file by path, not as a module of the package
from inspect_pipeline.record.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
