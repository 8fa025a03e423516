"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with a handler that keeps what it receives and can
refuse messages on request (the `smtp` fixture in conftest.py starts one per test)."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    raw: bytes


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives; it can refuse the next `refuse` messages (math.inf: all)
    with a 421, a 550, or by dropping the connection."""

    received: list[Received] = field(default_factory=list)
    refuse: float = 0
    how: str = "421"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        if self.refuse > 0:
            self.refuse -= 1
            if self.how == "drop":
                server.transport.close()
                return "421 closing"  # never reaches the client
            return "421 4.3.2 服务暂不可用，请稍后再试" if self.how == "421" else "550 5.7.1 拒收"
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 OK"

    def by_recipient(self) -> dict[str, Received]:
        return {r.rcpt_tos[0]: r for r in self.received}


@dataclass
class Server:
    port: int
    inbox: Inbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(inbox: Inbox, **kwargs) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


