from __future__ import annotations

import bz2
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.datasets.airline_threads import AIRLINE_FILES, clean_turn, load_airline_threads
from pipeline.datasets.threads import Thread
from pipeline.datasets.twitter_threads import (
    group_threads,
    load_twcs_threads,
    load_twcs_tweets,
    parse_twcs,
    parse_twitter_time,
)
from pipeline.errors import DataNotFoundError
from pipeline.schema import Author, Message

HEADER = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
MARKERS = ("<cust__", "__cust>", "<rep__", "__rep>")


# --- twcs head ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tweets(data_dir: Path):
    return load_twcs_tweets(data_dir)


def test_all_5000_rows_parse_including_the_one_with_bare_carriage_returns(data_dir: Path) -> None:
    with (data_dir / "twcs-head" / "twcs_head5000.csv").open(encoding="utf-8", newline="") as handle:
        parsed, issues = parse_twcs(handle.read())
    assert len(parsed) == 5_000
    assert [(i.line, i.skipped) for i in issues] == [(2589, False)]
    repaired = next(t for t in parsed if t.tweet_id == 3399)
    # written as "\r\r" in an unquoted field: a plain csv reader splits it into three rows
    assert repaired.text == "@AskPayPal \n\nI just love the start of email 😁 https://t.co/8u1Pf5rJoN"
    assert repaired.response_tweet_ids == (3398,) and repaired.in_response_to_tweet_id is None


def test_tweet_fields(tweets) -> None:
    assert len({t.tweet_id for t in tweets}) == 5_000
    assert Counter(t.inbound for t in tweets) == {True: 2_778, False: 2_222}
    assert all(t.created_at.tzinfo is not None and t.created_at.utcoffset() == timedelta(0) for t in tweets)
    first = tweets[0]
    assert (first.tweet_id, first.author_id, first.inbound) == (1, "sprintcare", False)
    assert first.in_response_to_tweet_id == 3
    assert first.author is Author.agent
    assert tweets[5].response_tweet_ids == (5, 7)


def test_twitter_time_is_timezone_aware() -> None:
    stamp = parse_twitter_time("Tue Oct 31 22:10:47 +0000 2017")
    assert stamp.isoformat() == "2017-10-31T22:10:47+00:00"
    assert parse_twitter_time("Wed Nov 01 01:00:00 -0530 2017").utcoffset() == -timedelta(hours=5, minutes=30)
    with pytest.raises(ValueError):
        parse_twitter_time("2017-10-31 22:10:47")


def test_thread_grouping(tweets) -> None:
    threads = group_threads(tweets)
    assert len(threads) == 1_312
    ids = [m.message_id for th in threads for m in th.turns]
    assert len(ids) == len(set(ids)) == 5_000  # every tweet in exactly one thread
    assert len({th.thread_id for th in threads}) == len(threads)
    thread_of = {m.message_id: th.thread_id for th in threads for m in th.turns}
    for t in tweets:  # a reply sits in its parent's thread whenever the parent is in the file
        if t.in_response_to_tweet_id is not None and str(t.in_response_to_tweet_id) in thread_of:
            assert thread_of[str(t.tweet_id)] == thread_of[str(t.in_response_to_tweet_id)]
    for th in threads:
        stamps = [m.timestamp for m in th.turns]
        assert stamps == sorted(stamps) and all(s is not None and s.tzinfo for s in stamps)
    starts = [th.started_at for th in threads]
    assert starts == sorted(starts)


def test_sprint_thread_is_rooted_at_the_first_customer_tweet(tweets) -> None:
    sprint = next(th for th in group_threads(tweets) if th.thread_id == "8")
    assert {m.message_id for m in sprint.turns} >= {"1", "2", "3", "4", "5", "6", "8"}
    assert sprint.turns[0].message_id == "8" and sprint.turns[0].author is Author.customer
    assert sprint.metadata["root_in_data"] == "true"


def test_missing_parent_anchors_the_thread() -> None:
    text = HEADER + (
        "0,10,111,True,Tue Oct 31 22:00:00 +0000 2017,first reply,,99.0\n"
        "1,11,Acme,False,Tue Oct 31 22:05:00 +0000 2017,second reply,,99.0\n"
    )
    tweets, _ = parse_twcs(text)
    (thread,) = group_threads(tweets)
    assert thread.thread_id == "99" and thread.metadata["root_in_data"] == "false"
    assert [m.author for m in thread.turns] == [Author.customer, Author.agent]


def test_unparseable_rows_are_reported_and_skipped() -> None:
    text = HEADER + (
        "0,1,111,True,Tue Oct 31 22:00:00 +0000 2017,ok,,\n"
        "1,2,111,maybe,Tue Oct 31 22:00:00 +0000 2017,bad inbound,,\n"
        "2,3,111,True,Tue Oct 31 22:00:00 +0000 2017,too,many,fields,,\n"
        "3,4,111,True,Tue Oct 31 22:00:00 +0000 2017,split\nacross lines,,\n"
    )
    tweets, issues = parse_twcs(text)
    assert [t.tweet_id for t in tweets] == [1, 4]
    assert tweets[1].text == "split\nacross lines"
    assert [(i.line, i.skipped) for i in issues] == [(3, True), (4, True), (5, False)]


def test_twcs_threads_convert_to_messages(data_dir: Path) -> None:
    thread = load_twcs_threads(data_dir)[0]
    message = thread.turns[0].to_message()
    assert isinstance(message, Message)
    assert message.conversation_id == thread.thread_id and message.timestamp.tzinfo is not None


def test_twcs_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="twcs_head5000.csv"):
        load_twcs_tweets(tmp_path)


# --- airline threads ---------------------------------------------------------------------------


def test_raw_thread_count(airline_raw) -> None:
    # 43,072 data rows: the last is empty, and 760 rows repeat an earlier thread (721 ids)
    assert len(airline_raw) == 42_311
    assert len({th.thread_id for th in airline_raw}) == len(airline_raw)


def test_raw_turns_are_clean_and_ordered(airline_raw) -> None:
    for thread in airline_raw[:2000]:
        assert isinstance(thread, Thread) and thread.source == "airlines"
        assert thread.turns[0].author is Author.customer
        assert len(thread.turns) >= 2
        for i, turn in enumerate(thread.turns):
            assert turn.message_id == f"{thread.thread_id}-{i}" and turn.timestamp is None
            assert turn.author in (Author.customer, Author.agent)
            assert not any(marker in turn.text for marker in MARKERS)
            assert turn.text == turn.text.strip()
    first = airline_raw[0]
    assert first.thread_id == "792" and first.tag is None and len(first.turns) == 4
    assert first.turns[1].text.startswith("__cust__ I'm sorry. The earlier flight")


def test_labelled_threads(data_dir: Path, airline_raw) -> None:
    labelled = load_airline_threads("labelled", data_dir)
    assert len(labelled) == 491
    tags = Counter(th.tag for th in labelled)
    assert len(tags) == 14 and tags["OTHER"] == 107 and tags["DELAY"] == 85
    assert labelled[0].metadata["source"] == "airlines.csv:87"
    raw_tags = {th.thread_id: th.tag for th in airline_raw}
    assert all(raw_tags[th.thread_id] == th.tag for th in labelled)  # dedupe kept the real tags
    assert sum(1 for tag in raw_tags.values() if tag is not None) == 491


def test_placeholders_can_be_dropped() -> None:
    assert clean_turn("  __company__  why  late? ", keep_placeholders=False) == "why late?"
    assert clean_turn("  __company__  why  late? ") == "__company__ why late?"


def _write_airlines(root: Path, rows: list[str]) -> None:
    path = root / AIRLINE_FILES["raw"]
    path.parent.mkdir(parents=True)
    body = "first_tweet_id,tag,first_utterance,context\n" + "".join(rows)
    path.write_bytes(bz2.compress(body.encode()))


def test_duplicates_are_merged_or_renamed(tmp_path: Path) -> None:
    _write_airlines(tmp_path, [
        "1,UNK,<cust__ __company__ hi __cust>,<rep__ __cust__ hello __rep>\n",
        "1,DELAY,<cust__ __company__ hi __cust>,<rep__ __cust__ hello __rep>\n",
        "1,UNK,<cust__ __company__ other __cust>,\n",
        ",UNK,,\n",
    ])  # fmt: skip
    threads = load_airline_threads("raw", tmp_path)
    assert [(th.thread_id, th.tag, len(th)) for th in threads] == [("1", "DELAY", 2), ("1#2", None, 1)]
    assert threads[1].turns[0].message_id == "1#2-0"
    assert len(load_airline_threads("raw", tmp_path, dedupe=False)) == 3


def test_airline_turn_becomes_a_message(airline_raw) -> None:
    message = airline_raw[0].turns[0].to_message(corpus="airlines")
    assert message.author is Author.customer and message.metadata == {"corpus": "airlines"}


def test_unknown_airline_file_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="which must be one of"):
        load_airline_threads("all", data_dir)  # type: ignore[arg-type]


def test_airlines_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="airlines_500onlyb.csv.bz2"):
        load_airline_threads("labelled", tmp_path)
