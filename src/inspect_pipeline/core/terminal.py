"""Text from outside (file, sheet, school and zone names, mail addresses and errors, database values) printed to
the terminal without letting it drive the terminal: control characters and bidi overrides are shown escaped. And a
terminal that cannot show a character (a Windows console or a redirect in GBK, an emoji in a file name) shows `?`
instead of failing the run (`tolerant_streams`)."""

from __future__ import annotations

import logging
import sys

from rich.markup import escape
from rich.text import Text

# Unicode bidi controls: a file name with U+202E shows its extension reversed ("报表\u202excod.exe")
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))  # C0 (tab and newline too), DEL, C1

_SURROGATES = range(0xD800, 0xE000)  # a file name's bytes that are not UTF-8 (os.fsdecode): unprintable, unencodable

_TABLE = {
    **{cp: f"\\x{cp:02x}" for cp in _CONTROLS},
    **{cp: f"\\u{cp:04x}" for cp in (*_BIDI, *_SURROGATES)},
}


def printable(text: object) -> str:
    r"""`text` with every control character, bidi control and lone surrogate written out (`\x1b`, `\n`-as-`\x0a`,
    `\u202e`, `\udcff`); CJK and all other printable text unchanged."""
    return str(text).translate(_TABLE)


def markup_safe(text: object) -> str:
    """`printable(text)` for use inside a Rich markup string (brackets escaped)."""
    return escape(printable(text))


def tolerant_streams() -> None:
    """stdout and stderr keep the encoding Python chose for them (the console's; a redirect's code page, GBK on a
    Chinese Windows; PYTHONIOENCODING) but write a character that encoding lacks as `?` instead of raising
    UnicodeEncodeError. Rich sees the encoding too: in one that is not UTF-8 it draws tables and bars in ASCII."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def cell(text: object) -> Text:
    """A table cell of outside text: escaped, never read as Rich markup."""
    return Text(printable(text))


class PrintableFormatter(logging.Formatter):
    """Log lines that cannot drive a terminal: the message line fully escaped (a name with a line break cannot
    forge a second log line), tracebacks escaped line by line."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return printable(super().formatMessage(record))

    def formatException(self, ei) -> str:  # noqa: N802, ANN001
        return _lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _lines(super().formatStack(stack_info))


def _lines(text: str) -> str:
    return "\n".join(printable(line) for line in text.split("\n"))
