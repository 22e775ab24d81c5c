"""Personal data never reaches a log: redaction of emails, phone, card and account numbers.

Card numbers are recognised by the Luhn check so that order numbers of the same length survive;
any other long digit run is treated as an account number, since a log loses little by hiding it.
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d[\d ()-]{8,}\d(?![\w])")
_ACCOUNT = re.compile(r"\b\d{6,}\b|\b\d{2}-\d{2}-\d{2}\b")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_or_account(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if _luhn_valid(digits) else "[ACCOUNT]"


def redact(text: str) -> str:
    """Replace personal data with a typed placeholder, keeping the rest readable."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CARD.sub(_card_or_account, text)
    text = _PHONE.sub("[PHONE]", text)
    return _ACCOUNT.sub("[ACCOUNT]", text)


class RedactingFilter(logging.Filter):
    """Attach to a handler so that every record it emits is redacted, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def install_redacting_logging(level: int = logging.INFO) -> None:
    """Route the root logger through the redacting filter (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level)
