"""Delivering a run's outputs by mail: this run's mails, then earlier failures again — each sent once.
What the CLI and the flows call; the planners are in mailings.py, the sending in mail.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.engine import Engine

from ..core.paths import Paths
from ..core.settings import Settings
from ..record.db import migrate, run_engine
from ..schools.identity import current_roster
from ..schools.roster import Roster
from .mail import DeliveryResult, Mail, deliver, resend_failed
from .mailings import receipt_mails, report_mails
from .reminders import RemindResult
from .robot_rounds import reminder_messages, report_messages, send_robot_messages, warning_messages


def send_mails(paths: Paths, settings: Settings, mails: list[Mail], now: dt.datetime, *,
               engine: Engine | None = None) -> DeliveryResult:
    """Send `mails`, then resend what failed in earlier runs; one result for both. Nothing while mail is off.
    `engine` (and `roster`, as read from its file, below): the run's own, when a job opened them."""
    return _with_engine(paths, settings, now, engine, lambda engine: mails)


def send_report(paths: Paths, settings: Settings, manifest: dict, now: dt.datetime, *,
                roster: Roster | None = None, engine: Engine | None = None) -> DeliveryResult:
    """The week's workbooks to their recipients and each zone extract to its 包片领导."""
    return _with_engine(
        paths, settings, now, engine, lambda engine: report_mails(
            paths, settings, current_roster(paths, settings, engine, register=False, loaded=roster), manifest)
    )


def send_receipts(paths: Paths, settings: Settings, weeks: list[str], now: dt.datetime, *,
                  roster: Roster | None = None, engine: Engine | None = None) -> DeliveryResult:
    """Every written receipt of these weeks (those an intake run touched) not yet mailed to its school's 学校邮箱
    — not every receipt ever written, the day mail is switched on."""
    if not weeks:
        return _with_engine(paths, settings, now, engine, lambda engine: [])
    return _with_engine(
        paths, settings, now, engine, lambda engine: receipt_mails(
            paths, settings, current_roster(paths, settings, engine, register=False, loaded=roster), engine,
            weeks=weeks)
    )


def send_robot_report(paths: Paths, settings: Settings, manifest: dict, now: dt.datetime, *,
                      engine: Engine | None = None, **kwargs) -> DeliveryResult:
    """The report-ready notice (web page link, headline figures) to every reports group robot, once per revision;
    then robot messages that failed before. Nothing while no robot is configured."""
    return _robots(paths, settings, now, engine, lambda: report_messages(settings, manifest), kwargs)


def send_robot_reminders(paths: Paths, settings: Settings, result: RemindResult, now: dt.datetime, *,
                         engine: Engine | None = None, **kwargs) -> DeliveryResult:
    """A reminder round and its deadline warnings to each 片区's group (the 包校责任人 @-mentioned) and each
    school group; then earlier failures."""
    return _robots(paths, settings, now, engine,
                   lambda: reminder_messages(settings, result) + warning_messages(settings, result), kwargs)


def _robots(paths: Paths, settings: Settings, now: dt.datetime, engine: Engine | None, plan: Callable,
            kwargs: dict) -> DeliveryResult:
    if not settings.robots:
        return DeliveryResult()
    engine = run_engine(paths.database_url, engine)
    migrate(engine)
    return send_robot_messages(engine, settings, plan(), now, **kwargs)


def _with_engine(paths: Paths, settings: Settings, now: dt.datetime, engine: Engine | None,
                 plan: Callable) -> DeliveryResult:
    if not settings.mail.enabled:
        return DeliveryResult()
    engine = run_engine(paths.database_url, engine)
    migrate(engine)
    mails = plan(engine)
    current = deliver(engine, settings.mail, mails, now, root=paths.root)
    earlier = resend_failed(engine, settings.mail, now, root=paths.root, skip=frozenset((m.key, m.to) for m in mails))
    sent = earlier.sent + current.sent
    done = {(m.key, m.to) for m in sent}
    failed = {(m.key, m.to): (m, error) for m, error in earlier.failed + current.failed}  # the latest error each
    return DeliveryResult(sent, current.already_sent, tuple(f for k, f in failed.items() if k not in done))


def summary(result: DeliveryResult) -> dict:
    """A DeliveryResult as plain data: counts, and each failure with its recipient, subject and error."""
    return {
        "sent": len(result.sent),
        "already_sent": len(result.already_sent),
        "failed": [{"收件人": m.to, "内容": m.subject, "错误": error} for m, error in result.failed],
    }
