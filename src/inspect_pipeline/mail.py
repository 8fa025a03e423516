"""Delivery by SMTP (operations.md §Delivery). The message a recipient gets is a `Mail`; planners elsewhere
(reports, receipts, reminders) build Mails, and `deliver` sends them once each, recording every attempt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
