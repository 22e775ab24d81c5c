"""Personal data never reaches a log: redaction of emails, phone, card, account numbers and IBANs.

Card numbers are recognised by the Luhn check and IBANs by their ISO 7064 check digits, so that
order numbers and product codes of the same shape survive; any other long digit run is treated as
an account number, since a log loses little by hiding it. Numbers are bounded by digits, not word
boundaries, so `card4111111111111111` is still a card; dates, times, prices and short numbers are
ordinary text.
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# two letters, two check digits, then up to 30 letters and digits, written solid or in fours
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
                   re.IGNORECASE | re.ASCII)
_CARD = re.compile(r"(?<!\d)(?:\d[ .-]?){12,18}\d(?!\d)")
# digits with single separators: spaces, dots, hyphens, brackets round an area code
_PHONE = re.compile(r"(?<!\d)\+?\(?\d(?:(?:[ .-]|\) ?| ?\()?\d)+(?!\d)")
_PHONE_DIGITS = 9  # the shortest national numbers; a date has 8 digits
_ACCOUNT = re.compile(r"(?<!\d)\d{6,}(?!\d)|(?<!\d)\d{2}-\d{2}-\d{2}(?!\d)")
# groups of three or more digits, eight in all ("1234 5678"); a date's two-digit groups never qualify
_GROUPED_ACCOUNT = re.compile(r"(?<!\d)\d{3,}(?:[ .-]\d{3,})+(?!\d)")
_ACCOUNT_DIGITS = 8
_DATE_TIME = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}(?:[ T]\d{1,2}[.:]\d{2}(?:[.:]\d{2})?)?")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _iban(match: re.Match[str]) -> str:
    code = match.group().replace(" ", "").upper()
    if sum(char.isdigit() for char in code) < 10:  # a product code or words, not a bank account
        return match.group()
    rearranged = code[4:] + code[:4]
    return "[ACCOUNT]" if int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1 else match.group()


def _card_or_account(match: re.Match[str]) -> str:
    if _DATE_TIME.fullmatch(match.group()):
        return match.group()
    return "[CARD]" if _luhn_valid(_digits(match.group())) else "[ACCOUNT]"


def _phone(match: re.Match[str]) -> str:
    if len(_digits(match.group())) < _PHONE_DIGITS or _DATE_TIME.fullmatch(match.group()):
        return match.group()
    return "[PHONE]"


def _grouped_account(match: re.Match[str]) -> str:
    return "[ACCOUNT]" if len(_digits(match.group())) >= _ACCOUNT_DIGITS else match.group()


def redact(text: str) -> str:
    """Replace personal data with a typed placeholder, keeping the rest readable."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _IBAN.sub(_iban, text)
    text = _CARD.sub(_card_or_account, text)
    text = _PHONE.sub(_phone, text)
    text = _ACCOUNT.sub("[ACCOUNT]", text)
    return _GROUPED_ACCOUNT.sub(_grouped_account, text)


class RedactingFilter(logging.Filter):
    """Attach to a handler so that every record it emits is redacted, whoever logged it: the message,
    and the traceback and stack, which quote exception text (and with it a customer's input)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # formatted once here, redacted; formatters print exc_text and cannot reach the raw exception
            record.exc_text = record.exc_text or self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
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
