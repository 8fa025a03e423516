"""The record: submissions, hazards with a stable identity, and each hazard's state per submission.

SQLAlchemy Core tables (bulk inserts at city scale); the schema is created and upgraded by Alembic
(`migrations/`), never by `create_all`, so an existing database is migrated in place.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.String(40), nullable=False),  # real clock, ISO 8601 with offset
    sa.Column("now", sa.String(40), nullable=False),  # the run's clock (--now)
    sa.Column("files", sa.Integer, nullable=False, default=0),
    sa.Column("roster_sha256", sa.String(64)),
)

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("file_name", sa.String(400), nullable=False),
    sa.Column("inbox_path", sa.String(1000), nullable=False),  # path below the inbox, as received
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("arrival_week", sa.String(8), nullable=False),
    sa.Column("week", sa.String(8), nullable=False, index=True),
    sa.Column("school_key", sa.String(200), index=True),
    sa.Column("school_code", sa.String(10)),
    sa.Column("school_name", sa.String(200)),
    sa.Column("format", sa.String(8)),
    sa.Column("sheet", sa.String(200)),
    sa.Column("outcome", sa.String(12), nullable=False),  # accepted | rejected | duplicate | superseded
    sa.Column("on_time", sa.Boolean, nullable=False),
    sa.Column("zero_report", sa.Boolean, nullable=False, default=False),
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    sa.Column("new", sa.Integer, nullable=False, default=0),
    sa.Column("major", sa.Integer, nullable=False, default=0),
    sa.Column("open", sa.Integer, nullable=False, default=0),
    sa.Column("rectified", sa.Integer, nullable=False, default=0),
    sa.Column("unit_name_raw", sa.String(400)),
    sa.Column("reporter", sa.String(200)),
    sa.Column("phone", sa.String(100)),
    sa.Column("approver", sa.String(200)),
    sa.Column("report_date", sa.Date),
    sa.Column("checks", sa.Integer),
    sa.Column("check_person_times", sa.Integer),
    sa.Column("issues", sa.JSON, nullable=False),
    sa.Column("note", sa.String(1000)),  # a sentence for the receipt (duplicate, superseded, still counted…)
    sa.Column("archive_path", sa.String(400), nullable=False),  # relative to the data root
    sa.Column("receipt_path", sa.String(1000)),  # relative to the data root
    sa.Column("receipt_written", sa.Boolean, nullable=False, default=False),
    sa.Column("superseded_by", sa.Integer),
)

hazards = sa.Table(
    "hazards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_key", sa.String(200), nullable=False),
    sa.Column("code", sa.String(260), nullable=False, unique=True),  # 隐患编号, e.g. 2113000001-2023W47-003
    sa.Column("identity", sa.String(2000), nullable=False),
    sa.Column("found_date", sa.Date, nullable=False),
    sa.Column("first_week", sa.String(8), nullable=False),
    sa.Column("first_submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
    sa.UniqueConstraint("school_key", "identity", name="uq_hazard_identity"),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hazard_id", sa.Integer, sa.ForeignKey("hazards.id"), nullable=False, index=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False, index=True),
    sa.Column("week", sa.String(8), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("is_new", sa.Boolean, nullable=False),
    # True while its submission is the school's counted (accepted) file of the week; False once superseded
    sa.Column("counted", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("source", sa.String(40)),
    sa.Column("location", sa.String(1000)),
    sa.Column("category", sa.String(40)),
    sa.Column("description", sa.String(4000)),
    sa.Column("level", sa.String(8)),
    sa.Column("mode", sa.String(8)),
    sa.Column("measures", sa.String(4000)),
    sa.Column("owner", sa.String(200)),
    sa.Column("deadline", sa.Date),
    sa.Column("funds_wan", sa.Float),
    sa.Column("interim_control", sa.String(4000)),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("done_date", sa.Date),
    sa.Column("verifier", sa.String(200)),
    sa.Column("remarks", sa.String(4000)),
    # the state of a hazard at a past week: its latest counted observation up to that week, read from the index
    sa.Index("ix_observations_state", "hazard_id", "week", "status", "counted"),
)

# The ledger's current page: each hazard's latest counted observation, kept up to date by every intake run
# (ledger.refresh_state), so a week's report reads one row per hazard instead of the whole history.
hazard_state = sa.Table(
    "hazard_state",
    metadata,
    sa.Column("hazard_id", sa.Integer, sa.ForeignKey("hazards.id"), primary_key=True),
    sa.Column("school_key", sa.String(200), nullable=False),
    sa.Column("first_week", sa.String(8), nullable=False, index=True),  # first week it was counted
    sa.Column("week", sa.String(8), nullable=False),  # week of its latest counted observation
    sa.Column("observation_id", sa.Integer, sa.ForeignKey("observations.id"), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("prev_status", sa.String(8)),  # status of the counted observation before the latest
    # the facts the figures need, copied from that observation and the hazard: a report reads this table alone
    sa.Column("level", sa.String(8)),
    sa.Column("mode", sa.String(8)),
    sa.Column("deadline", sa.Date),
    sa.Column("funds_wan", sa.Float),
    sa.Column("code", sa.String(260)),
    sa.Column("found_date", sa.Date),
)


reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("week", sa.String(8), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("generated_at", sa.String(40), nullable=False),
    sa.Column("path", sa.String(400), nullable=False),  # the revision's folder, relative to the data root
    sa.Column("last_submission_id", sa.Integer, nullable=False),  # newer files of weeks ≤ this one make it stale
    sa.UniqueConstraint("week", "revision", name="uq_report_revision"),
)


# One row per message and address (mail.deliver): a (key, recipient) recorded as sent is never sent again, and a
# failed one keeps what was to be sent, so the next run resends it from here.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(400), nullable=False),  # what is sent, e.g. report:2023-W47:r2:safety_committee
    sa.Column("kind", sa.String(20), nullable=False),  # report | zone_extract | receipt | reminder
    sa.Column("week", sa.String(8), nullable=False, index=True),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(1000), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("attachments", sa.JSON, nullable=False),  # paths relative to the data root (or absolute)
    sa.Column("status", sa.String(8), nullable=False, index=True),  # sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),  # every try over all runs
    sa.Column("first_tried_at", sa.String(40), nullable=False),
    sa.Column("last_tried_at", sa.String(40), nullable=False),
    sa.Column("sent_at", sa.String(40)),
    sa.Column("error", sa.Text),  # the last failure, in Chinese
    sa.UniqueConstraint("key", "recipient", name="uq_delivery_recipient"),
)


def make_engine(url: str) -> Engine:
    """An engine for the record (SQLite: parent folder created, foreign keys on)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the database schema to the latest Alembic revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
