"""The record: submissions, hazards with a stable identity, and each hazard's state per submission.

SQLAlchemy Core tables (bulk inserts at city scale); the schema is created and upgraded by Alembic
(`migrations/`), never by `create_all`, so an existing database is migrated in place. `migrate` first checks that
the database is the record of this software (never silently starting an empty one in place of a lost history).

The column types are the record's boundary: whatever a school typed is stored the same way on SQLite and PostgreSQL
(unbounded text without NUL or lone surrogates, JSON without NaN, counts within an integer), so no value in a file
can fail the transaction that records a whole run.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from ..core.errors import RecordError

metadata = sa.MetaData()

# ---------------------------------------------------------------------------------------- values any backend stores

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def storable_text(value: str) -> str:
    """The text as both backends store it: NUL removed (PostgreSQL refuses it), each lone surrogate (a file-name
    byte that is not UTF-8, as os.fsdecode gives it) replaced by U+FFFD so the name stays readable."""
    if not _UNSTORABLE.search(value):
        return value
    return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def storable_json(value: object) -> object:
    """A JSON value with every text made storable and every NaN or infinity (invalid JSON) made null."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {storable_text(k) if isinstance(k, str) else k: storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value


def as_stored(table: sa.Table, row: dict) -> dict:
    """A row as `table` will hold it: each value through its column type's own processing (storable text and
    JSON; a count no integer column holds becomes unknown)."""
    out = {}
    for key, value in row.items():
        kind = table.c[key].type
        out[key] = kind.process_bind_param(value, None) if isinstance(kind, sa.types.TypeDecorator) else value
    return out


class Text(sa.types.TypeDecorator):
    """Unbounded text, stored as `storable_text` makes it."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return storable_text(value) if isinstance(value, str) else value


class JSON(sa.types.TypeDecorator):
    """JSON, stored as `storable_json` makes it."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return storable_json(value)


class Count(sa.types.TypeDecorator):
    """A count a school typed: one no integer column holds is stored as unknown (NULL)."""

    impl = sa.Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value if value is None or INT32[0] <= value <= INT32[1] else None


class BigInteger(sa.types.TypeDecorator):
    """A 64-bit integer from outside (a file's size, its modification time in ns): held to the 64-bit range."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value if value is None else min(max(value, INT64[0]), INT64[1])


class Float(sa.types.TypeDecorator):
    """An amount: NaN and infinities (which the backends store differently, or not at all) are stored as NULL."""

    impl = sa.Float
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value if value is None or math.isfinite(value) else None


# ---------------------------------------------------------------------------------------- the tables

# One row per school the record has ever known: its identity whatever its roster row says today (roster.md §Roster
# changes). Roster rows are matched to it by 学校标识码 first, then by any full name it has had (schools.identify).
schools = sa.Table(
    "schools",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", Text, unique=True),  # 学校标识码, once the roster gives one
    sa.Column("name", Text, nullable=False),  # its latest full name
    sa.Column("names", JSON, nullable=False),  # every full name it has had (a renamed school keeps its old ones)
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", Text, nullable=False),  # real clock, ISO 8601 with offset
    sa.Column("now", Text, nullable=False),  # the run's clock (--now)
    sa.Column("files", sa.Integer, nullable=False, default=0),
    sa.Column("roster_sha256", Text),
    sa.Column("config_sha256", Text),
)

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("file_name", Text, nullable=False),
    sa.Column("inbox_path", Text, nullable=False),  # path below the inbox, as received
    sa.Column("sha256", Text, nullable=False, index=True),
    sa.Column("size", BigInteger, nullable=False),
    sa.Column("mtime_ns", BigInteger, nullable=False),
    sa.Column("received_at", Text, nullable=False),  # ISO 8601 with the offset of the time zone then configured
    sa.Column("received_epoch", BigInteger, nullable=False, index=True),  # the same moment, for comparing
    sa.Column("arrival_week", Text, nullable=False),
    sa.Column("week", Text, nullable=False, index=True),
    sa.Column("school_id", sa.Integer, sa.ForeignKey("schools.id"), index=True),
    sa.Column("school_code", Text),
    sa.Column("school_name", Text),
    sa.Column("format", Text),
    sa.Column("sheet", Text),
    sa.Column("outcome", Text, nullable=False),  # accepted | rejected | duplicate | superseded
    sa.Column("on_time", sa.Boolean, nullable=False),
    sa.Column("zero_report", sa.Boolean, nullable=False, default=False),
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    sa.Column("new", sa.Integer, nullable=False, default=0),
    sa.Column("major", sa.Integer, nullable=False, default=0),
    sa.Column("open", sa.Integer, nullable=False, default=0),
    sa.Column("rectified", sa.Integer, nullable=False, default=0),
    sa.Column("unit_name_raw", Text),
    sa.Column("reporter", Text),
    sa.Column("phone", Text),
    sa.Column("approver", Text),
    sa.Column("report_date", sa.Date),
    sa.Column("checks", Count),
    sa.Column("check_person_times", Count),
    sa.Column("issues", JSON, nullable=False),
    sa.Column("limit_hit", Text),  # the per-file limit that stopped reading it: watchdog | memory | crash
    sa.Column("note", Text),  # a sentence for the receipt (duplicate, superseded, still counted…)
    sa.Column("archive_path", Text, nullable=False),  # relative to the data root
    sa.Column("receipt_path", Text),  # relative to the data root
    sa.Column("receipt_written", sa.Boolean, nullable=False, default=False),
    sa.Column("superseded_by", sa.Integer),
)

hazards = sa.Table(
    "hazards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.Integer, sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("code", Text, nullable=False, unique=True),  # 隐患编号, e.g. 2113000001-2023W47-003
    sa.Column("identity", Text, nullable=False),
    sa.Column("found_date", sa.Date, nullable=False),
    sa.Column("first_week", Text, nullable=False),
    sa.Column("first_submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
    # one hazard per identity and school; PostgreSQL indexes the identity's md5, as a b-tree entry holds at most
    # ~2.7 kB and an identity (found date, location, description) holds whatever the school typed
    sa.UniqueConstraint("school_id", "identity", name="uq_hazard_identity").ddl_if(dialect="sqlite"),
    sa.Index("uq_hazard_identity", "school_id", sa.text("md5(identity)"), unique=True).ddl_if(dialect="postgresql"),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hazard_id", sa.Integer, sa.ForeignKey("hazards.id"), nullable=False, index=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False, index=True),
    sa.Column("week", Text, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("is_new", sa.Boolean, nullable=False),
    # True while its submission is the school's counted (accepted) file of the week; False once superseded
    sa.Column("counted", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("source", Text),
    sa.Column("location", Text),
    sa.Column("category", Text),
    sa.Column("description", Text),
    sa.Column("level", Text),
    sa.Column("mode", Text),
    sa.Column("measures", Text),
    sa.Column("owner", Text),
    sa.Column("deadline", sa.Date),
    sa.Column("funds_wan", Float),
    sa.Column("interim_control", Text),
    sa.Column("status", Text, nullable=False),
    sa.Column("done_date", sa.Date),
    sa.Column("verifier", Text),
    sa.Column("remarks", Text),
    # the state of a hazard at a past week: its latest counted observation up to that week, read from the index
    sa.Index("ix_observations_state", "hazard_id", "week", "status", "counted"),
)

# The ledger's current page: each hazard's latest counted observation, kept up to date by every intake run
# (ledger.refresh_state), so a week's report reads one row per hazard instead of the whole history.
hazard_state = sa.Table(
    "hazard_state",
    metadata,
    sa.Column("hazard_id", sa.Integer, sa.ForeignKey("hazards.id"), primary_key=True),
    sa.Column("school_id", sa.Integer, nullable=False),
    sa.Column("first_week", Text, nullable=False, index=True),  # first week it was counted
    sa.Column("week", Text, nullable=False),  # week of its latest counted observation
    sa.Column("observation_id", sa.Integer, sa.ForeignKey("observations.id"), nullable=False),
    sa.Column("status", Text, nullable=False),
    sa.Column("prev_status", Text),  # status of the counted observation before the latest
    # the facts the figures need, copied from that observation and the hazard: a report reads this table alone
    sa.Column("level", Text),
    sa.Column("mode", Text),
    sa.Column("deadline", sa.Date),
    sa.Column("funds_wan", Float),
    sa.Column("code", Text),
    sa.Column("found_date", sa.Date),
)


# The ledger's history in spans, kept with the current page (ledger.hazards.refresh_state): one row per run of
# weeks in which a hazard kept a status, from the week of the counted observation that gave it to the week of the
# next one that changed it (none: it still stands). The cumulative rectification rate at any week's cutoff is a
# count over these rows (report.figures.rate_points), without a pass over the history.
hazard_spans = sa.Table(
    "hazard_spans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hazard_id", sa.Integer, sa.ForeignKey("hazards.id"), nullable=False, index=True),
    sa.Column("school_id", sa.Integer, nullable=False),
    sa.Column("first_week", Text, nullable=False),  # the hazard's first counted week
    sa.Column("status", Text, nullable=False),
    sa.Column("week_from", Text, nullable=False),
    sa.Column("week_to", Text),
)


reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("week", Text, nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("generated_at", Text, nullable=False),
    sa.Column("path", Text, nullable=False),  # the revision's folder, relative to the data root
    sa.Column("last_submission_id", sa.Integer, nullable=False),  # newer files of weeks ≤ this one make it stale
    sa.Column("roster_sha256", Text),  # the roster it attributed schools by (archive/_inputs; the first revision's rules)
    sa.UniqueConstraint("week", "revision", name="uq_report_revision"),
)


# One row per message and address (mail.deliver): a (key, recipient) recorded as sent is never sent again, and a
# failed one keeps what was to be sent, so the next run resends it from here.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", Text, nullable=False),  # what is sent, e.g. report:2023-W47:r2:safety_committee
    sa.Column("kind", Text, nullable=False),  # report | zone_extract | receipt | reminder
    sa.Column("week", Text, nullable=False, index=True),
    sa.Column("recipient", Text, nullable=False),
    sa.Column("subject", Text, nullable=False),
    sa.Column("body", Text, nullable=False),
    sa.Column("attachments", JSON, nullable=False),  # paths relative to the data root (or absolute)
    sa.Column("status", Text, nullable=False, index=True),  # sent | failed | dropped (robot group removed)
    sa.Column("attempts", sa.Integer, nullable=False),  # every try over all runs
    sa.Column("first_tried_at", Text, nullable=False),
    sa.Column("last_tried_at", Text, nullable=False),
    sa.Column("sent_at", Text),
    sa.Column("error", Text),  # the last failure, in Chinese
    sa.UniqueConstraint("key", "recipient", name="uq_delivery_recipient"),
)


def make_engine(url: str) -> Engine:
    """An engine for the record (SQLite: parent folder created, foreign keys on). Without a pool: each command
    makes its engine and none disposes it, so a connection is closed when its unit of work ends rather than left
    open (idle on the server) until the engine is garbage-collected."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


def run_engine(url: str, engine: Engine | None = None) -> Engine:
    """The engine a step works with: the run's own (`engine`, opened once by the job) or a new one for `url`."""
    return engine if engine is not None else make_engine(url)


# ---------------------------------------------------------------------------------------- opening the record

SQLITE_HEADER = b"SQLite format 3\x00"
RESTORE = ("请从备份恢复该文件；或将它移到别处，再运行 inspect-pipeline restore，"
           "从归档（archive/ 中保存着收到的每个文件）重建数据库")


def migrate(engine: Engine, *, create: bool = False) -> None:
    """Check that the database is this software's record, then bring its schema to the latest Alembic revision.

    An empty database is set up only with `create` (`init`) or when its SQLite file does not exist yet; an empty
    (0-byte), unreadable, damaged or foreign database, or one of a newer version, raises RecordError with one line
    saying what, where and how to restore, and is left as it was. Cheap when the schema is current (every intake
    calls it): a look at the file's header, the table names and the version."""
    where = database_label(engine)
    try:
        needed = _new_sqlite_file(engine, where) or _needs_upgrade(engine, where, create)
    except sa.exc.DatabaseError as exc:
        raise _unusable(engine, where, exc) from None
    if not needed:
        return
    try:
        with engine.connect() as conn:
            _upgrade(conn)
    except sa.exc.DatabaseError as exc:
        raise RecordError(f"数据库 {where} 无法建立或升级（{_reason(exc)}）：请检查数据库的位置与权限后再试") from None


def database_label(engine: Engine) -> str:
    """The database as the clerk knows it: the SQLite file, or the URL without its password."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or ":memory:"
    return engine.url.render_as_string(hide_password=True)


def _new_sqlite_file(engine: Engine, where: str) -> bool:
    """Whether the record is a SQLite file still to be made; raises if the file there is no SQLite database."""
    if engine.dialect.name != "sqlite":
        return False
    if where == ":memory:" or where.startswith("file:"):
        return True
    path = Path(where)
    if not path.exists():
        return True
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise RecordError(f"数据库文件 {path} 无法读取（{exc.strerror or exc}）：请检查文件权限；若文件已损坏，{RESTORE}") from None
    if not header:
        raise RecordError(f"数据库文件 {path} 是空的（0 字节），其中已没有任何记录：{RESTORE}")
    if header != SQLITE_HEADER:
        raise RecordError(f"数据库文件 {path} 不是 SQLite 数据库（已损坏或被其他文件覆盖）：{RESTORE}")
    return False


def _needs_upgrade(engine: Engine, where: str, create: bool) -> bool:
    """Whether the schema is to be created or upgraded; raises if the database is not ours or newer than the code.
    Reads only: a SQLite file is looked at without the record's pragmas (WAL would rewrite a foreign file)."""
    probe = sa.create_engine(engine.url, poolclass=sa.pool.NullPool) if engine.dialect.name == "sqlite" else engine
    try:
        with probe.connect() as conn:
            return _schema_state(conn, where, create)
    finally:
        if probe is not engine:
            probe.dispose()


def _schema_state(conn: Connection, where: str, create: bool) -> bool:
    """Whether the schema is to be created or upgraded; raises if the database is not ours or newer than the code."""
    tables = set(sa.inspect(conn).get_table_names())
    versions = _versions(conn) if "alembic_version" in tables else []
    ours = tables - {"alembic_version"}
    if not versions:
        if ours:
            raise RecordError(_foreign(conn, where, sorted(ours)))
        if not create:
            raise RecordError(_empty(conn, where))
        return True
    unknown = [v for v in versions if v not in _known_revisions()]
    if unknown:
        raise RecordError(_newer(conn, where, unknown[0]))
    return versions != [_script().get_current_head()]


def _versions(conn: Connection) -> list[str]:
    return sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _foreign(conn: Connection, where: str, tables: list[str]) -> str:
    shown = "、".join(tables[:5]) + ("等" if len(tables) > 5 else "")
    if conn.dialect.name == "sqlite":
        return f"数据库文件 {where} 不是本软件的记录（有表 {shown}，但没有版本信息）：{RESTORE}"
    return (f"数据库 {where} 中有不属于本软件的表（{shown}）：请在 config.toml 的 database_url 中改用一个专用的空数据库，"
            "再运行 inspect-pipeline init")


def _newer(conn: Connection, where: str, version: str) -> str:
    head = _script().get_current_head()
    if conn.dialect.name == "sqlite":
        return (f"数据库文件 {where} 的结构版本 {version} 比本软件新（本软件最高为 {head}）："
                f"请安装更新的 inspect-pipeline 后再运行；若是用错了文件，{RESTORE}")
    return (f"数据库 {where} 的结构版本 {version} 比本软件新（本软件最高为 {head}）："
            "请安装更新的 inspect-pipeline 后再运行，或检查 config.toml 中的 database_url 是否指错了数据库")


def _empty(conn: Connection, where: str) -> str:
    if conn.dialect.name == "sqlite":
        return f"数据库文件 {where} 中没有任何记录表：若是新建的数据目录，请运行 inspect-pipeline init；否则{RESTORE}"
    return f"数据库 {where} 还没有记录表：请先运行 inspect-pipeline init 建立"


def _unusable(engine: Engine, where: str, exc: sa.exc.DatabaseError) -> RecordError:
    """A database error while looking at the record, as one line."""
    reason = _reason(exc)
    if engine.dialect.name != "sqlite":
        return RecordError(f"无法打开数据库 {where}（{reason}）：请检查 config.toml 中的 database_url 和数据库服务器")
    if "locked" in reason or "busy" in reason:
        return RecordError(f"数据库文件 {where} 正被其他程序锁定（{reason}）：请关闭打开它的程序后再试")
    return RecordError(f"数据库文件 {where} 无法使用（{reason}），可能已损坏：{RESTORE}")


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's first line (without the SQL SQLAlchemy appends)."""
    text = str(exc.orig).strip() if exc.orig is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


def alembic_config() -> Config:
    """Alembic's configuration for the record's migrations (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in _script().walk_revisions())


def _upgrade(conn: Connection) -> None:
    """Upgrade in one transaction. On SQLite foreign keys are off meanwhile (a batch migration copies a table,
    drops it and renames the copy, which rows of other tables refer to) and checked after."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, or SQLite ignores it
        conn.commit()
    try:
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise RecordError("数据库升级后有记录指向不存在的行：升级已撤销，数据库保持原样")
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
