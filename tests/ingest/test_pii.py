import logging

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
    ],
)
def test_personal_data_is_replaced(raw, secret, placeholder):
    cleaned = redact(raw)
    assert secret not in cleaned and placeholder in cleaned


def test_ordinary_numbers_survive():
    assert redact("order 1234 arrived 2 weeks late, cost £45.99") == "order 1234 arrived 2 weeks late, cost £45.99"


def test_log_records_are_redacted_whoever_logs_them(caplog):
    logger = logging.getLogger("earlywarn.test")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("customer %s wrote from %s", "Jo", "jo@example.com")
    assert "jo@example.com" not in caplog.text and "[EMAIL]" in caplog.text
