import io
import logging
from collections.abc import Iterator

import pytest

from pipeline.ingest.pii import RedactingFilter, redact


@pytest.mark.parametrize(
    ("raw", "secret", "placeholder"),
    [
        ("email me at jo.bloggs+bank@example.co.uk today", "jo.bloggs+bank@example.co.uk", "[EMAIL]"),
        ("my card 4111 1111 1111 1111 was declined", "4111 1111 1111 1111", "[CARD]"),
        ("call me on 07700 900123 please", "07700 900123", "[PHONE]"),
        ("ring +44 20 7946 0958", "+44 20 7946 0958", "[PHONE]"),
        ("account 12345678 sort code 12-34-56", "12345678", "[ACCOUNT]"),
        ("or 020.7946.0958 after six", "7946", "[PHONE]"),
        ("(020) 7946-0958 is my landline", "7946", "[PHONE]"),
        ("card 4111.1111.1111.1111 expired", "1111", "[CARD]"),
        ("card4111111111111111 was charged", "4111", "[CARD]"),
        ("acct12345678x", "12345678", "[ACCOUNT]"),
        ("acct 1234 5678 is overdrawn", "5678", "[ACCOUNT]"),
        ("IBAN GB29NWBK60161331926819", "GB29NWBK", "[ACCOUNT]"),
        ("pay into gb29 nwbk 6016 1331 9268 19 today", "nwbk", "[ACCOUNT]"),
    ],
)
def test_personal_data_is_replaced(raw, secret, placeholder):
    cleaned = redact(raw)
    assert secret not in cleaned and placeholder in cleaned


@pytest.mark.parametrize("text", [
    "order 1234 arrived 2 weeks late, cost £45.99",
    "I ordered 3 x 12 boxes and 250 units came",
    "promised for 2026-12-02, then 02.12.2026 10.30, then 2026-12-02T10:30:00",
    "the engineer came at 10:30, left at 11.45 and charged £12.50 (£1,299.99 in all)",
    "steps 1. 2. 3. 4. 5. 6. 7. 8. 9. 10. all failed",
    "ticket AB12 CDEF GHIJ KLMN, firmware 1.2.3",
])
def test_ordinary_numbers_survive(text):
    assert redact(text) == text


def test_log_records_are_redacted_whoever_logs_them(caplog):
    logger = logging.getLogger("earlywarn.test")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("customer %s wrote from %s", "Jo", "jo@example.com")
    assert "jo@example.com" not in caplog.text and "[EMAIL]" in caplog.text


@pytest.fixture
def redacted_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler has the redacting filter and its own formatter, and what it writes."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("earlywarn.test.redacted")
    log.addHandler(handler)
    log.propagate = False
    yield log, out
    log.removeHandler(handler)


def test_exception_tracebacks_and_stacks_are_redacted_too(redacted_log):
    log, out = redacted_log
    try:
        raise ValueError("bad input jane@example.com 07700 900123")
    except ValueError:
        log.exception("could not parse the record")
    try:
        from pipeline.schema import Message

        Message(id="m1", text="hi", channel="jane@example.com 07700 900123")
    except ValueError:
        log.exception("refused")
    log.warning("where from", stack_info=True, extra={"customer": "jane@example.com"})
    written = out.getvalue()
    assert "Traceback" in written and "ValueError" in written and "ValidationError" in written
    assert "Stack (most recent call last)" in written
    assert "jane@example.com" not in written and "900123" not in written and "[EMAIL]" in written
