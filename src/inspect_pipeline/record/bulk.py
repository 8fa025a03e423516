"""Many rows into the record at once (one executemany on SQLite, COPY on PostgreSQL), and many ids named in one
statement.

A run records a province's week in one transaction (~30,000 submissions, ~400,000 observations). Through
executemany, PostgreSQL takes each row as a statement of a pipeline (measured: 78 s of a 30,000-unit intake in the
driver and the server); COPY takes them as one stream. The values are what the table stores either way: each goes
through its column type's processing first (`record.db.as_stored`: storable text, JSON, counts in range), then
psycopg's own adaptation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .db import as_stored

IN_LIST = 500  # at most this many ids are named by a list of values in one statement

def insert_rows(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the connection's transaction. Columns the rows do
    not name take the database's defaults, as in an INSERT naming only these columns."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, sa.JSON)
                    or isinstance(getattr(table.c[c].type, "impl", None), sa.JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            if row.keys() != rows[0].keys():
                raise ValueError(f"insert_rows into {table.name}: rows name different columns")
            stored = as_stored(table, row)
            copy.write_row([json.dumps(stored[c], ensure_ascii=False) if c in json_columns else stored[c]
                            for c in columns])


@contextmanager
def id_set(conn: Connection, ids: list[int], name: str = "id_set") -> Iterator[list[int] | sa.Select]:
    """What `column.in_(…)` takes to name `ids` in one statement: the list itself when it is short, else a select
    of a temporary table holding them (created in the connection's transaction, dropped on leaving; a rollback
    takes it too), so that a city's or a province's ids cost the database one statement, not one per 500 ids (each
    a round trip, on PostgreSQL). On PostgreSQL the table is analysed once filled: autovacuum never sees a
    temporary table, and without its size the planner takes 400,000 ids for a few thousand."""
    if len(ids) <= IN_LIST:
        yield ids
        return
    table = sa.Table(name, sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True), prefixes=["TEMPORARY"])
    table.create(conn)
    try:
        insert_rows(conn, table, [{"id": i} for i in sorted(set(ids))])
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f'ANALYZE "{name}"'))
        yield sa.select(table.c.id)
    finally:
        table.drop(conn)
