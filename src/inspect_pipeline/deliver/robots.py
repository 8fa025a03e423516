"""Delivery to 企业微信 group robots and 钉钉 custom robots (operations.md §Delivery), beside mail.

A message to a robot is a `Mail` whose recipient is `robot:<group>` and whose body is the JSON the robot is sent, so
that it goes through the same delivery record as mail (`deliveries`: one row per key and recipient; a message
recorded as sent is never sent again, one recorded as failed is resent from the record by the next run). Keys name
the round, the part and the content (`…:1/2:<sha>`), so Friday's round is sent even when equal to Thursday's and a
retried round sends nothing twice.

企业微信: `msgtype` markdown for lists (at most 4,096 bytes of UTF-8: longer lists are split at line boundaries into
numbered messages); @-mentions only in `msgtype` text with `mentioned_mobile_list` (at most 2,048 bytes), sent as a
short message of their own. 钉钉: markdown for lists, text with `at.atMobiles` for mentions; the signed-secret mode
appends `timestamp` (ms) and `sign`; the keyword mode puts the configured keyword into every message.

Both robots answer `{"errcode": 0}`; anything else is a failure, retried with backoff. Both allow ~20 messages a
minute: `RateLimit` waits (injectable clock and sleep). Webhook keys, signatures and mobile numbers never reach a log
line or an error text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from ..core.errors import ConfigError, PipelineError
from ..core.settings import Robot, Settings
from ..record.db import deliveries
from .mail import DeliveryResult, Mail, _Outcome, _record, _recorded

log = logging.getLogger(__name__)
_SECRET_QUERY = re.compile(r"((?:key|access_token|sign)=)[^&\s\"']+")


class _MaskWebhookSecrets(logging.Filter):
    """httpx logs every request's URL at INFO: the webhook key and 钉钉's sign never reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRET_QUERY.sub(r"\1***", message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, _MaskWebhookSecrets) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_MaskWebhookSecrets())

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
WECOM_MARKDOWN_BYTES = 4096
WECOM_TEXT_BYTES = 2048
DINGTALK_MARKDOWN_BYTES = 18000  # 钉钉 documents 20,000 bytes for a message; a margin for the JSON around it
DINGTALK_TEXT_BYTES = 2048
RECIPIENT_PREFIX = "robot:"
_PART_RESERVE = 40  # bytes kept free in each part for its "（第n/N条）" line


def recipient(group: str) -> str:
    return f"{RECIPIENT_PREFIX}{group}"


def is_robot(to: str) -> bool:
    return to.startswith(RECIPIENT_PREFIX)


# ---------------------------------------------------------------------------------------------------- messages


def split_lines(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` bytes (UTF-8), cut at line boundaries; a single longer line is cut at a
    character boundary."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # a line longer than a whole part
            head = line.encode()[:limit].decode("utf-8", "ignore")
            if current:
                parts.append("\n".join(current))
                current, size = [], 0
            parts.append(head)
            line = line[len(head):]
        extra = len(line.encode()) + (1 if current else 0)
        if current and size + extra > limit:
            parts.append("\n".join(current))
            current, size = [], 0
            extra = len(line.encode())
        current.append(line)
        size += extra
    if current and any(s.strip() for s in current):
        parts.append("\n".join(current))
    return parts or [""]


def numbered(text: str, limit: int) -> list[str]:
    """`text` split to fit `limit` bytes; when it takes several parts, each starts with （第n/N条）."""
    if len(text.encode()) <= limit:
        return [text]
    parts = split_lines(text, limit - _PART_RESERVE)
    return [f"（第{n}/{len(parts)}条）\n{part}" for n, part in enumerate(parts, start=1)]


def with_keyword(text: str, robot: Robot) -> str:
    """钉钉 keyword mode: the keyword in every message (put in front unless the text already holds it)."""
    if robot.kind == "dingtalk" and robot.keyword and robot.keyword not in text:
        return f"【{robot.keyword}】{text}"
    return text


def list_payloads(robot: Robot, title: str, text: str) -> list[dict]:
    """A list (markdown) as one or more messages within the robot's byte limit."""
    if robot.kind == "wecom":
        return [{"msgtype": "markdown", "markdown": {"content": part}}
                for part in numbered(text, WECOM_MARKDOWN_BYTES)]
    parts = numbered(text, DINGTALK_MARKDOWN_BYTES - len(robot.keyword.encode()) - 8)
    return [{"msgtype": "markdown", "markdown": {"title": with_keyword(title, robot), "text": with_keyword(p, robot)}}
            for p in parts]


def mention_payloads(robot: Robot, text: str, mobiles: Iterable[str]) -> list[dict]:
    """A short text message @-mentioning these mobile numbers (none: no message)."""
    mobiles = list(dict.fromkeys(m for m in mobiles if m))
    if not mobiles:
        return []
    if robot.kind == "wecom":
        content = _cut(text, WECOM_TEXT_BYTES)
        return [{"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mobiles}}]
    # 钉钉 highlights a mention only when the text holds @<mobile> too
    tail = " " + " ".join(f"@{m}" for m in mobiles)
    content = with_keyword(text, robot)
    content = _cut(content, DINGTALK_TEXT_BYTES - len(tail.encode())) + tail
    return [{"msgtype": "text", "text": {"content": content}, "at": {"atMobiles": mobiles, "isAtAll": False}}]


def text_payload(robot: Robot, text: str) -> dict:
    """A plain text message (robot-test)."""
    text = with_keyword(text, robot)
    if robot.kind == "wecom":
        return {"msgtype": "text", "text": {"content": _cut(text, WECOM_TEXT_BYTES)}}
    return {"msgtype": "text", "text": {"content": _cut(text, DINGTALK_TEXT_BYTES)}}


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    return text if len(data) <= limit else data[: limit - 3].decode("utf-8", "ignore") + "…"


def messages(kind: str, key: str, week: str, group: str, title: str, payloads: list[dict]) -> list[Mail]:
    """The record's Mails of one robot round: keyed by round, part and content."""
    out = []
    for n, payload in enumerate(payloads, start=1):
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()[:12]
        out.append(Mail(kind=f"robot_{kind}", key=f"{key}:{n}/{len(payloads)}:{digest}", week=week,
                        to=recipient(group), subject=title if len(payloads) == 1 else f"{title}（{n}/{len(payloads)}）",
                        body=body))
    return out


# ---------------------------------------------------------------------------------------------------- sending


def sign(secret: str, timestamp_ms: int) -> str:
    """钉钉's signature: URL-encoded Base64 of HMAC-SHA256(secret, "<timestamp>\\n<secret>")."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def webhook_url(robot: Robot, now_ms: int) -> str:
    """The address a message is posted to, with the key (and 钉钉's timestamp and sign)."""
    key = robot.key.get_secret_value() if robot.key else ""
    if robot.kind == "wecom":
        return f"{robot.base_url or WECOM_URL}?key={urllib.parse.quote(key)}"
    url = f"{robot.base_url or DINGTALK_URL}?access_token={urllib.parse.quote(key)}"
    if robot.secret:
        url += f"&timestamp={now_ms}&sign={sign(robot.secret.get_secret_value(), now_ms)}"
    return url


class RobotFailure(PipelineError):
    """A message a robot did not take; `transient` failures are worth another try within the run."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class RateLimit:
    """At most `per_minute` messages in any 60 s to one robot: waits (with `sleep`) for the oldest to age out."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    sent: deque = field(default_factory=deque)

    def wait(self) -> None:
        now = self.clock()
        while self.sent and now - self.sent[0] >= 60:
            self.sent.popleft()
        if len(self.sent) >= self.per_minute:
            self.sleep(60 - (now - self.sent[0]))
            self.sent.popleft()
        self.sent.append(max(self.clock(), now))


def _mask(text: str, robot: Robot) -> str:
    """`text` without the robot's key, secret or signature."""
    for secret in (robot.key, robot.secret):
        if secret and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "***")
            text = text.replace(urllib.parse.quote(secret.get_secret_value()), "***")
    return text


def client(robot: Robot) -> httpx.Client:
    """An HTTP client with the robot's timeout and proxy (else the environment's HTTP(S)_PROXY)."""
    return httpx.Client(timeout=robot.timeout_seconds, proxy=robot.proxy or None, trust_env=True)


def post(http: httpx.Client, robot: Robot, group: str, payload: dict, *,
         wall_clock: Callable[[], float] = time.time) -> dict:
    """Send one payload; the robot's answer (`errcode` 0). Raises RobotFailure with a masked Chinese message."""
    if not robot.key or not robot.key.get_secret_value():
        raise RobotFailure(f"机器人 {group} 未设置 webhook key：请写在 secrets.toml 的 [robots.{group}] key",
                           transient=False)
    name = "企业微信群机器人" if robot.kind == "wecom" else "钉钉机器人"
    try:
        response = http.post(webhook_url(robot, int(wall_clock() * 1000)), json=payload)
    except httpx.TimeoutException:
        raise RobotFailure(f"{name} {group} 超时（{robot.timeout_seconds:g} 秒）") from None
    except httpx.HTTPError as exc:
        raise RobotFailure(_mask(f"无法连接{name} {group}（{type(exc).__name__}: {exc}）", robot)) from None
    if response.status_code >= 400:
        raise RobotFailure(f"{name} {group} 返回 HTTP {response.status_code}",
                           transient=response.status_code >= 500 or response.status_code == 429)
    try:
        answer = response.json()
    except ValueError:
        raise RobotFailure(f"{name} {group} 的答复不是 JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code = answer.get("errcode") if isinstance(answer, dict) else None
        msg = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise RobotFailure(_mask(f"{name} {group} 拒收（errcode {code}：{msg}）", robot))
    return answer


def deliver_robots(
    engine,
    settings: Settings,
    mails: Iterable[Mail],
    now: dt.datetime,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    limits: dict[str, RateLimit] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> DeliveryResult:
    """Send each robot message not yet recorded as sent, up to the robot's `attempts` times with backoff, within its
    rate, and record every outcome in `deliveries`. Never raises for a message that fails."""
    mails = [m for m in mails if is_robot(m.to)]
    if not mails:
        return DeliveryResult()
    recorded = _recorded(engine, mails)
    limits = {} if limits is None else limits
    clients: dict[str, httpx.Client] = {}
    sent, already, failed = [], [], []
    try:
        for mail in mails:
            previous = recorded.get((mail.key, mail.to))
            if previous is not None and previous["status"] == "sent":
                already.append(mail)
                continue
            group = mail.to[len(RECIPIENT_PREFIX):]
            robot = settings.robots.get(group)
            if robot is None:
                tries, error = 1, f"机器人 {group} 已不在配置中（config.toml 的 [robots.{group}]）"
            else:
                if group not in clients:
                    clients[group] = (httpx.Client(timeout=robot.timeout_seconds, transport=transport)
                                      if transport is not None else client(robot))
                limit = limits.setdefault(group, RateLimit(robot.per_minute, clock, sleep))
                tries, error = _send(clients[group], robot, group, mail, limit, sleep, wall_clock)
            # no attachments: the root is never used
            recorded[(mail.key, mail.to)] = _record(engine, mail, _Outcome(tries, error), previous, now, Path("."))
            if error is None:
                sent.append(mail)
            else:
                failed.append((mail, error))
    finally:
        for http in clients.values():
            http.close()
    return DeliveryResult(tuple(sent), tuple(already), tuple(failed))


def _send(http: httpx.Client, robot: Robot, group: str, mail: Mail, limit: RateLimit,
          sleep: Callable[[float], None], wall_clock: Callable[[], float]) -> tuple[int, str | None]:
    payload = json.loads(mail.body)
    for n in range(1, robot.attempts + 1):
        limit.wait()
        try:
            post(http, robot, group, payload, wall_clock=wall_clock)
        except RobotFailure as failure:
            if not failure.transient or n == robot.attempts:
                log.error("机器人消息未发出（已试 %d 次；留待下次运行重发）：%s → %s（%s）：%s",
                          n, mail.key, group, mail.subject, failure)
                return n, str(failure)
            wait = robot.backoff_seconds * 2 ** (n - 1)
            log.warning("机器人消息发送失败（第 %d/%d 次），%g 秒后重试：%s → %s：%s",
                        n, robot.attempts, wait, mail.key, group, failure)
            sleep(wait)
        else:
            log.info("机器人消息已发送：%s → %s（%s）", mail.key, group, mail.subject)
            return n, None
    raise AssertionError("unreachable: attempts >= 1")


def resend_failed_robots(engine, settings: Settings, now: dt.datetime, *, skip: frozenset = frozenset(),
                         **kwargs) -> DeliveryResult:
    """Send again every robot message recorded as failed, from the record. One to a group no longer configured
    (its [robots.<group>] removed) is marked dropped: kept in the record, no longer resent or listed as unsent."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries).where(deliveries.c.status == "failed",
                                        deliveries.c.recipient.startswith(RECIPIENT_PREFIX))
            .order_by(deliveries.c.id)
        ).mappings().all()
    gone = [r for r in rows if r["recipient"][len(RECIPIENT_PREFIX):] not in settings.robots]
    if gone:
        with engine.begin() as conn:
            conn.execute(deliveries.update().where(deliveries.c.id.in_([r["id"] for r in gone]))
                         .values(status="dropped", error="机器人已从配置中删除，不再重发"))
        log.warning("%d robot message(s) to groups no longer configured marked dropped: %s", len(gone),
                    ", ".join(sorted({r["recipient"] for r in gone})))
        rows = [r for r in rows if r not in gone]
    again = [Mail(kind=r["kind"], key=r["key"], week=r["week"], to=r["recipient"], subject=r["subject"],
                  body=r["body"]) for r in rows if (r["key"], r["recipient"]) not in skip]
    return deliver_robots(engine, settings, again, now, **kwargs)


def send_test(settings: Settings, group: str, now: dt.datetime, *, transport: httpx.BaseTransport | None = None) -> dict:
    """`robot-test`: one short text message to the group's robot, outside the delivery record; the robot's answer.
    Raises ConfigError for an unknown group, RobotFailure for a refusal."""
    robot = settings.robots.get(group)
    if robot is None:
        known = "、".join(settings.robots) or "（无）"
        raise ConfigError(f"config.toml 中没有机器人 [robots.{group}]；已配置的有：{known}")
    local = now.astimezone(settings.tz)
    payload = text_payload(robot, f"{settings.bureau_name} 安全隐患周报系统测试消息（{local:%Y-%m-%d %H:%M}）："
                                  f"机器人 {group} 配置正确，可以收到提醒和通知。")
    http = httpx.Client(timeout=robot.timeout_seconds, transport=transport) if transport else client(robot)
    with http:
        return post(http, robot, group, payload)
