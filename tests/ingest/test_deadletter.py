import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from pipeline.ingest.deadletter import DeadLetterStore
from pipeline.ingest.validate import Reason, Rejection, Validator

T0 = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def _rejection(reason: Reason = Reason.malformed_json, raw: str = "{oops", at: datetime = T0, **kw) -> Rejection:
    return Rejection(reason, kw.pop("field", "<record>"), kw.pop("detail", "not valid JSON: send one object"), raw,
                     kw.pop("source", "test"), at, **kw)


@pytest.fixture
def store(dead_letter_url):
    store = DeadLetterStore(dead_letter_url)
    yield store
    store.close()


def test_rejections_are_stored_counted_and_read_back_newest_first(store):
    first = store.add(_rejection())
    store.add_many([_rejection(Reason.duplicate_id, '{"id": "a"}', T0 + timedelta(seconds=i), message_id="a",
                               field="id") for i in range(1, 4)])
    store.add(_rejection(Reason.empty_text, '{"id": "b", "text": ""}', T0 + timedelta(seconds=9), field="text"))
    assert isinstance(first, int)
    assert store.count() == 5 and store.count(Reason.duplicate_id) == 3 and store.count("empty_text") == 1
    assert store.reasons() == {"duplicate_id": 3, "empty_text": 1, "malformed_json": 1}
    newest = store.recent(2)
    assert [(d.reason, d.received_at) for d in newest] == [("empty_text", T0 + timedelta(seconds=9)),
                                                           ("duplicate_id", T0 + timedelta(seconds=3))]
    assert newest[1].message_id == "a" and newest[1].field == "id" and newest[1].source == "test"
    assert [d.reason for d in store.recent(10, reason=Reason.malformed_json)] == ["malformed_json"]


def test_the_payload_is_stored_exactly_as_received_however_hostile(store):
    payloads = [
        "Robert'); DROP TABLE dead_letters;--",
        "<script>alert(1)</script>\n\t\"quoted\" 'single' `back` $(shell) ${jndi:ldap://x}",
        "emoji 😡🔥 and accents éàü and RTL \u202e text",
        "card 4111 1111 1111 1111 mail jane.doe@example.com",
    ]
    store.add_many([_rejection(raw=p, at=T0 + timedelta(seconds=i)) for i, p in enumerate(payloads)])
    assert [d.raw for d in reversed(store.recent(10))] == payloads
    assert "dead_letters" in inspect(store.engine).get_table_names()


def test_nul_and_undecodable_bytes_are_kept_as_escapes_on_every_database(store):
    rejection = Validator().validate(b'{"id": "a", "text": "nul \\u0000"}\x00\xff')
    store.add(rejection)
    [stored] = store.recent(1)
    assert stored.raw == '{"id": "a", "text": "nul \\u0000"}\\x00\\xff'


def test_a_store_opened_twice_on_one_database_shares_the_table(dead_letter_url, store):
    store.add(_rejection())
    again = DeadLetterStore(dead_letter_url)
    assert again.count() == 1
    again.close()


def test_add_many_is_one_transaction(postgres_url):
    """PostgreSQL, since SQLite does not enforce the column length the failing row breaks."""
    store = DeadLetterStore(postgres_url)
    try:
        before = store.count()
        bad = replace(_rejection(), reason="r" * 100)  # reason is a 40-character column
        with pytest.raises(DBAPIError):
            store.add_many([_rejection(), _rejection(), bad])
        assert store.count() == before
    finally:
        store.close()


def test_logs_are_redacted_while_the_database_keeps_the_payload(store, caplog):
    validator = Validator()
    sent = {"id": "jane.doe@example.com", "text": "my card 4111 1111 1111 1111 was charged twice"}
    validator.validate(sent)
    duplicate = validator.validate(sent)
    with caplog.at_level(logging.DEBUG, logger="pipeline.ingest"):
        store.add(duplicate)
        store.add_many([duplicate])
    assert caplog.records and "jane.doe" not in caplog.text and "4111" not in caplog.text
    assert all("4111 1111 1111 1111" in d.raw for d in store.recent(2))
