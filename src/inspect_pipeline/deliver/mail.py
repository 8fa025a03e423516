"""Delivery by SMTP (operations.md §Delivery). The message a recipient gets is a `Mail`; planners elsewhere
(reports, receipts, reminders) build Mails, and `deliver` sends them once each, recording every attempt.

Every (key, address) has one row in `deliveries`, committed as soon as its mail is done: one recorded as sent is never
sent again, one recorded as failed keeps its subject, body and attachments so that `resend_failed` (the next run)
sends it from the record. A mail failure is logged and recorded, never raised: the report files are already written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..core.settings import Mail as MailSettings
from ..record.db import deliveries

log = logging.getLogger(__name__)

# Explicit, because `mimetypes` reads the Windows registry, which may know .md or .xlsx as something else.
MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
    ".xls": ("application", "vnd.ms-excel"),
    ".ods": ("application", "vnd.oasis.opendocument.spreadsheet"),
    ".csv": ("text", "csv"),
    ".md": ("text", "markdown"),
    ".txt": ("text", "plain"),
    ".json": ("application", "json"),
    ".pdf": ("application", "pdf"),
}
_OCTET = ("application", "octet-stream")
_CHUNK = 500  # keys per IN (...) when reading the record


@dataclass(frozen=True)
class Mail:
    """One message to one address. `key` names what is sent (stable across runs: the same key and address are
    never sent twice), e.g. 'report:2023-W47:r2:safety_committee' or 'receipt:1234'."""

    kind: str  # report | zone_extract | receipt | reminder
    key: str
    week: str
    to: str
    subject: str
    body: str
    attachments: tuple[Path, ...] = ()


@dataclass(frozen=True)
class DeliveryResult:
    """What one `deliver` call did with each mail it was given."""

    sent: tuple[Mail, ...] = ()
    already_sent: tuple[Mail, ...] = ()  # recorded as sent by an earlier run (or earlier in this batch)
    failed: tuple[tuple[Mail, str], ...] = ()  # (mail, the last error in Chinese); the next run resends these


class MailFailure(Exception):
    """A mail that cannot be sent; `transient` failures are worth another try within the run."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


# ---------------------------------------------------------------------------------------------------- the message


def build_message(mail: Mail, sender: str, now: dt.datetime, *, root: Path | None = None) -> EmailMessage:
    """The MIME message of `mail`: UTF-8 plain text, attachments under their own (Chinese) names.

    The default email policy writes the subject as RFC 2047 encoded words and file names as RFC 2231 parameters.
    Raises MailFailure (not transient) for an attachment that does not exist or cannot be read.
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id(mail, sender)
    msg.set_content(mail.body, charset="utf-8", cte="base64")  # base64: no 8BITMIME needed anywhere
    for path in (_absolute(p, root) for p in mail.attachments):
        maintype, subtype = MIME_TYPES.get(path.suffix.lower(), _OCTET)
        params = {"charset": "utf-8"} if maintype == "text" else None
        msg.add_attachment(_read(path), maintype=maintype, subtype=subtype, filename=path.name, params=params)
    return msg


def message_id(mail: Mail, sender: str) -> str:
    """A Message-ID fixed by key and address: if a try did reach the recipient after all, a mail program shows the
    resent copy as the same message."""
    digest = hashlib.sha256(f"{mail.key}\n{mail.to}".encode()).hexdigest()[:24]
    domain = sender.rpartition("@")[2] or "inspect-pipeline.invalid"
    return f"<{digest}@{domain}>"


def _absolute(path: Path, root: Path | None) -> Path:
    return path if path.is_absolute() or root is None else root / path


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise MailFailure(f"附件不存在：{path}", transient=False)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MailFailure(f"附件无法读取：{path}（{exc.strerror or exc}）", transient=False) from None


# ---------------------------------------------------------------------------------------------------- SMTP


def _tls_context() -> ssl.SSLContext:
    """The system's trusted certificates and modern defaults (tests swap this for one trusting a test CA)."""
    return ssl.create_default_context()


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An SMTP session as configured: implicit TLS (ssl), STARTTLS or plain; logged in when a user is set."""
    host, port, timeout = settings.host or "", settings.port, settings.timeout_seconds
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.security == "starttls":
            smtp.starttls(context=_tls_context())
        if settings.user:
            smtp.login(settings.user, settings.password.get_secret_value() if settings.password else "")
    except BaseException:
        smtp.close()
        raise
    return smtp


class _Session:
    """One SMTP connection reused for a batch: opened on first use, dropped after a failure, reopened on the next
    try, closed at the end."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.unreachable = False  # the last try could not even connect (or log in)

    def send(self, msg: EmailMessage, sender: str, to: str) -> None:
        try:
            if self.smtp is None:
                self.unreachable = True
                self.smtp = connect(self.settings)
            self.unreachable = False
            self.smtp.send_message(msg, from_addr=sender, to_addrs=[to])
        except (OSError, ValueError) as exc:  # every smtplib error is an OSError
            self.drop()
            raise MailFailure(describe(exc, self.settings), transient=is_transient(exc)) from exc

    def drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, ValueError):
                pass  # the mails are sent; a server that hangs up first is no failure
            self.drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_transient(exc: BaseException) -> bool:
    """True for failures another try may cure: the network, a dropped connection, a 4xx reply. A 5xx refusal, a
    rejected login, a missing feature, an untrusted certificate or TLS on a plain port fail at once."""
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPException):
        return False
    if isinstance(exc, ssl.SSLError):  # cut off mid-handshake: try again; a wrong port, protocol or certificate: no
        return isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError)
    return isinstance(exc, OSError)  # refused, reset, unreachable, timed out


def describe(exc: BaseException, settings: MailSettings) -> str:
    """What went wrong, in one Chinese sentence with the server's own reply."""
    server = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (f"邮件服务器 {server} 拒绝登录（{_reply(exc)}）：请检查 [mail] user 与密码"
                "（secrets.toml 或环境变量 INSPECT_PIPELINE_MAIL__PASSWORD）")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "；".join(f"收件人 {to} 被拒收（{code} {_text(msg)}）" for to, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"发件人 {exc.sender} 被拒（{_reply(exc)}）：请检查 [mail] sender"
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"邮件服务器 {server} 拒绝连接（{_reply(exc)}）"
    if isinstance(exc, smtplib.SMTPDataError):
        return f"邮件服务器 {server} 拒收邮件（{_reply(exc)}）"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"邮件服务器 {server} 返回错误（{_reply(exc)}）"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"与邮件服务器 {server} 的连接中断（{exc or '连接被关闭'}）"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"邮件服务器 {server} 不支持所需功能（{exc}）：请检查 [mail] security"
    if isinstance(exc, smtplib.SMTPException):
        return f"邮件服务器 {server} 出错（{exc}）"
    if isinstance(exc, TimeoutError):
        return f"连接邮件服务器 {server} 超时（{settings.timeout_seconds:g} 秒）"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"邮件服务器 {server} 的证书无法验证（{exc.verify_message or exc}）"
    if isinstance(exc, ssl.SSLError):
        return f"与邮件服务器 {server} 建立加密连接失败（{exc.reason or exc}）：请检查 [mail] security 与 port"
    if isinstance(exc, OSError):
        return f"无法连接邮件服务器 {server}（{exc.strerror or exc}）"
    return f"邮件无法发出（{type(exc).__name__}: {exc}）"


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}".strip()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


# ---------------------------------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class _Outcome:
    tries: int
    error: str | None  # None: sent


def deliver(
    engine: Engine,
    mail_settings: MailSettings,
    mails: Iterable[Mail],
    now: dt.datetime,
    *,
    root: Path,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send each mail not yet recorded as sent to its address, trying each up to `attempts` times, and record
    every outcome in `deliveries` (one commit per mail). Never raises for a mail that fails; does nothing while
    mail is not configured. Relative attachment paths are below `root` (the data root). When the server cannot be
    reached at all, the rest of the batch is recorded as failed untried (resent by the next run) rather than each
    waiting out its own retries: thousands of receipts must not hold a run for hours."""
    mails = list(mails)
    if not mail_settings.enabled or not mails:
        return DeliveryResult()
    sender = mail_settings.sender or mail_settings.user or ""
    recorded = _recorded(engine, mails)
    sent, already, failed = [], [], []
    down: str | None = None  # the server could not be reached after every try: the rest waits for the next run
    with _Session(mail_settings) as session:
        for mail in mails:
            previous = recorded.get((mail.key, mail.to))
            if previous is not None and previous["status"] == "sent":
                already.append(mail)
                continue
            if down is not None:
                outcome = _Outcome(0, f"本次未发送：{down}")
            else:
                outcome = _send(session, mail, sender, mail_settings, now, root, sleep)
                if outcome.error is not None and session.unreachable:
                    down = outcome.error
            recorded[(mail.key, mail.to)] = _record(engine, mail, outcome, previous, now, root)
            if outcome.error is None:
                sent.append(mail)
            else:
                failed.append((mail, outcome.error))
    return DeliveryResult(tuple(sent), tuple(already), tuple(failed))


def resend_failed(
    engine: Engine,
    mail_settings: MailSettings,
    now: dt.datetime,
    *,
    root: Path,
    skip: frozenset[tuple[str, str]] = frozenset(),
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send again every mail recorded as failed, as it was recorded (subject, body, attachments), except the
    (key, address) pairs in `skip` (those the caller has just tried)."""
    if not mail_settings.enabled:
        return DeliveryResult()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.status == "failed", ~deliveries.c.recipient.startswith("robot:"))  # robots.py's
            .order_by(deliveries.c.id)
        ).mappings().all()
    again = [_stored_mail(r) for r in rows if (r["key"], r["recipient"]) not in skip]
    return deliver(engine, mail_settings, again, now, root=root, sleep=sleep)


def deliveries_for(engine: Engine, week: str) -> list[dict]:
    """Every recorded mail of a week in the order first tried (kind, key, recipient, status, attempts, times,
    error), for display."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries).where(deliveries.c.week == week).order_by(deliveries.c.id)
        ).mappings().all()
    return [dict(r) for r in rows]


def _send(session: _Session, mail: Mail, sender: str, settings: MailSettings, now: dt.datetime, root: Path,
          sleep: Callable[[float], None]) -> _Outcome:
    """Try one mail up to `settings.attempts` times, waiting backoff_seconds, then twice that, … between tries."""
    if not sender:
        return _failed(mail, 1, 1, "未设置发件人地址：请在 config.toml 的 [mail] 中填写 sender")
    try:
        msg = build_message(mail, sender, now, root=root)
    except MailFailure as failure:
        return _failed(mail, 1, 1, str(failure))
    except ValueError as exc:  # e.g. a line break in a subject or address
        return _failed(mail, 1, 1, f"邮件内容无效，无法生成邮件（{exc}）")
    for n in range(1, settings.attempts + 1):
        try:
            session.send(msg, sender, mail.to)
        except MailFailure as failure:
            if not failure.transient or n == settings.attempts:
                return _failed(mail, n, settings.attempts, str(failure))
            wait = settings.backoff_seconds * 2 ** (n - 1)
            log.warning("邮件发送失败（第 %d/%d 次），%g 秒后重试：%s → %s：%s",
                        n, settings.attempts, wait, mail.key, mail.to, failure)
            sleep(wait)
        else:
            log.info("邮件已发送：%s → %s（%s）", mail.key, mail.to, mail.subject)
            return _Outcome(n, None)
    raise AssertionError("unreachable: attempts >= 1")


def _failed(mail: Mail, tries: int, attempts: int, error: str) -> _Outcome:
    log.error("邮件未发出（已试 %d 次，共 %d 次机会；留待下次运行重发）：%s → %s（%s）：%s",
              tries, attempts, mail.key, mail.to, mail.subject, error)
    return _Outcome(tries, error)


def _recorded(engine: Engine, mails: list[Mail]) -> dict[tuple[str, str], dict]:
    """The rows already recorded for these mails, by (key, recipient)."""
    keys = sorted({m.key for m in mails})
    found: dict[tuple[str, str], dict] = {}
    with engine.connect() as conn:
        for i in range(0, len(keys), _CHUNK):
            rows = conn.execute(sa.select(deliveries).where(deliveries.c.key.in_(keys[i:i + _CHUNK]))).mappings()
            found.update({(r["key"], r["recipient"]): dict(r) for r in rows})
    return found


def _record(engine: Engine, mail: Mail, outcome: _Outcome, previous: dict | None, now: dt.datetime,
            root: Path) -> dict:
    """Write the mail's row (insert, or update with attempts added up) in its own transaction; the row."""
    stamp = now.isoformat(timespec="seconds")
    values = {
        "kind": mail.kind, "week": mail.week, "subject": mail.subject, "body": mail.body,
        "attachments": [_stored_path(p, root) for p in mail.attachments],
        "status": "sent" if outcome.error is None else "failed",
        "attempts": (previous["attempts"] if previous else 0) + outcome.tries,
        "last_tried_at": stamp,
        "sent_at": stamp if outcome.error is None else None,
        "error": outcome.error,
    }
    with engine.begin() as conn:
        if previous is None:
            values |= {"key": mail.key, "recipient": mail.to, "first_tried_at": stamp}
            values["id"] = conn.execute(deliveries.insert().values(**values)).inserted_primary_key[0]
        else:
            conn.execute(deliveries.update().where(deliveries.c.id == previous["id"]).values(**values))
    return {**(previous or {}), **values}


def _stored_path(path: Path, root: Path) -> str:
    """Relative to the data root (POSIX separators) where it lies below it, else absolute."""
    absolute = _absolute(path, root)
    for base in (root, root.resolve()):
        if absolute.is_relative_to(base):
            return absolute.relative_to(base).as_posix()
    return str(absolute)


def _stored_mail(row: dict) -> Mail:
    return Mail(
        kind=row["kind"], key=row["key"], week=row["week"], to=row["recipient"], subject=row["subject"],
        body=row["body"], attachments=tuple(Path(p) for p in row["attachments"]),
    )
