"""The stream end to end on the embedded defaults: files in, cases and dead letters out, nothing lost."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.cases.tables import CaseMessageRow, CaseRow, EventRow
from pipeline.config import Settings
from pipeline.ingest.sources.file import FileSource
from pipeline.ingest.sources.redis_streams import RedisStreamProducer, RedisStreamSource
from pipeline.ingest.sources.replay import ReplaySource
from pipeline.ingest.validate import Rejection, Validator
from pipeline.scoring.base import StagedScorer
from pipeline.scoring.cascade import Band, CascadeMeta, CascadeScorer
from pipeline.scoring.deep import DeepScorer
from pipeline.stream.runner import StreamRunner
from tests.ingest.test_fuzz import SEED, Corpus


def _count(stages, table) -> int:
    with stages.cases.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _replay_file(tmp_path: Path, settings, limit: int, extra: list[str] = ()) -> Path:
    path = tmp_path / "threads.jsonl"
    lines = [m.model_dump_json() for m in ReplaySource(settings.data_dir, limit=limit).messages()]
    path.write_text("\n".join([*lines, *extra]) + "\n")
    return path


def test_real_threads_become_cases_and_bad_lines_dead_letters(stages, tmp_path, settings):
    bad = ['{"id": "x1", "text": ""}', "not json at all", '{"id": "x2", "text": "hi", "timestamp": "yesterday"}']
    path = _replay_file(tmp_path, settings, 600, bad)
    counters = StreamRunner(stages).run(FileSource(path), max_batch=64)
    assert counters.received == 603 and counters.accepted + counters.dead_lettered == 603
    reasons = stages.dead_letters.reasons()
    assert {"empty_text", "malformed_json", "invalid_field"} <= set(reasons)
    assert set(reasons) - {"empty_text", "malformed_json", "invalid_field"} <= {"unsupported_language"}, \
        "real English threads are only ever refused for their language (twcs holds Spanish, Japanese...)"
    assert counters.flagged > 0 and counters.cases_opened > 0
    assert _count(stages, CaseMessageRow) == counters.flagged
    with stages.cases.engine.connect() as conn:
        cases = conn.execute(select(CaseRow.conversation_id)).scalars().all()
    assert len(cases) == len(set(cases)) == counters.cases_opened, "one case per conversation"


def test_replaying_the_same_input_again_duplicates_nothing(stages, tmp_path, settings):
    path = _replay_file(tmp_path, settings, 400)
    first = StreamRunner(stages).run(FileSource(path), max_batch=50)
    cases, messages, events = _count(stages, CaseRow), _count(stages, CaseMessageRow), _count(stages, EventRow)
    # a restarted worker (fresh validator and conversation state) sees the same messages again
    from pipeline.conversation.store import ConversationStore
    from pipeline.ingest.validate import Validator

    stages.validator, stages.conversations = Validator(), ConversationStore()
    again = StreamRunner(stages).run(FileSource(path), max_batch=50)
    assert again.accepted == first.accepted and again.cases_opened == 0 and again.cases_updated == 0
    assert (_count(stages, CaseRow), _count(stages, CaseMessageRow), _count(stages, EventRow)) == (cases, messages, events)


def _on_the_wire(payload) -> bool:
    """Payloads a producer can send as they are: bytes, text, or a record JSON can carry (the fuzz corpus
    also holds in-process records with sets and bytes inside, which no wire format delivers)."""
    if isinstance(payload, (bytes, str)):
        return True
    try:
        json.dumps(payload)
    except (TypeError, ValueError):
        return False
    return True


def test_a_thousand_hostile_messages_through_redis_are_all_dead_lettered(stages, redis_url, stream_key, settings):
    hostile = [item for item in Corpus(SEED).build() if _on_the_wire(item[0])]
    check = Validator()
    valid = [line for line in (m.model_dump_json() for m in ReplaySource(settings.data_dir, limit=60).messages())
             if not isinstance(check.validate(line), Rejection)]  # the English ones
    producer = RedisStreamProducer(stream_key, url=redis_url)
    producer.publish([payload for payload, _, _ in hostile] + valid)
    producer.close()
    source = RedisStreamSource(stream_key, url=redis_url, group="fuzz", consumer="w1", block_ms=200,
                               stop_when_idle=True)
    counters = StreamRunner(stages).run(source, max_batch=128)
    assert len(hostile) >= 1000
    assert counters.received == len(hostile) + len(valid)
    assert counters.dead_lettered == stages.dead_letters.count() == len(hostile)
    assert counters.accepted == len(valid)
    assert source.pending() == 0, "every entry acknowledged once written"
    assert all(d.reason and d.detail for d in stages.dead_letters.recent(limit=len(hostile)))
    source.close()
    json.dumps(counters.snapshot())  # the counters print as JSON


def test_states_are_checkpointed_only_between_acknowledged_batches(stages, tmp_path, settings, monkeypatch):
    path = _replay_file(tmp_path, settings, 300)
    runner = StreamRunner(stages)
    seen: list[tuple[int, int, int]] = []
    folded = [0]
    update = stages.conversations.update

    def counted(*args, **kwargs):  # the real update, counted: how many messages the states have taken in
        folded[0] += 1
        return update(*args, **kwargs)

    monkeypatch.setattr(stages.conversations, "update", counted)

    def checkpoint() -> None:
        seen.append((runner.counters.received, runner.counters.accepted, folded[0]))

    runner.run(FileSource(path), max_batch=50, max_wait_s=0.0, checkpoint=checkpoint, checkpoint_every_s=0.0)
    # a snapshot holds exactly the messages written and acknowledged: none decided but unwritten, none
    # analysed but not yet folded into its conversation (both would be redelivered after a crash)
    assert all(accepted == folded for _, accepted, folded in seen), seen
    assert [received for received, _, _ in seen] == sorted(received for received, _, _ in seen)
    assert seen[-1][0] == 300 and all(received % 50 == 0 for received, _, _ in seen) and len(seen) >= 6


def test_a_vulnerability_disclosure_is_routed_to_care_and_marked_on_its_case(stages, tmp_path):
    from pipeline.cases.authority import Role
    from pipeline.stream.assemble import VulnerabilityFindings

    stages.vulnerability = VulnerabilityFindings()
    lines = [{"id": "care-1", "conversation_id": "care-thread", "channel": "chat", "customer_id": "c-care",
              "text": "Hi, I lost my job last month and I'm struggling to pay my bills. Can I change my payment date?"}]
    path = tmp_path / "care.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    counters = StreamRunner(stages).run(FileSource(path), max_batch=8)
    assert counters.cases_opened == 1, "a calm question that discloses hardship is still flagged, for care"
    case = stages.cases.list_cases()[0]
    assert (case.queue, case.priority) == ("care", 2)
    stages.cases.add_user("care-agent", Role.agent)
    agent = stages.cases.actor("care-agent")
    drivers = {m.driver for m in stages.cases.vulnerability(agent, case.id)}
    assert drivers >= {"resilience"}


# --- the cascade staged: its deep rescoring overlapping the other stages ---------------------------------


class _Scripted:
    """A live source for the tests: hands over the batches it is given, then blocks (as stdin or a paced
    replay can) until its first batch is acknowledged or `patience_s` runs out, and records every ack."""

    name = "scripted"

    def __init__(self, path: Path, batch: int, patience_s: float = 20.0) -> None:
        self.envelopes = [e for b in FileSource(path).batches(batch) for e in b]
        self.batch, self.patience_s = batch, patience_s
        self.acked: list[str] = []
        self.waited_in_vain = False
        self._acked = threading.Event()

    def batches(self, max_batch: int = 256):
        yield self.envelopes[: self.batch]
        if not self._acked.wait(self.patience_s):
            self.waited_in_vain = True
        for start in range(self.batch, len(self.envelopes), self.batch):
            yield self.envelopes[start:start + self.batch]

    def ack(self, delivery_ids) -> None:
        self.acked.extend(delivery_ids)
        self._acked.set()

    def stop(self) -> None: ...

    def close(self) -> None: ...


@pytest.fixture
def cascade(fast_scorer, deep_artefacts, cue_extractor, tmp_path):
    """The real cascade with the briefly tuned deep model, its band wide enough that most messages go deep."""
    meta = CascadeMeta(version="cascade-test", band=Band(0.05, 0.95), fast_version=fast_scorer.version,
                       deep_version="deep-test", rescored_share=0.0, chosen_on="test")
    deep = DeepScorer.load(deep_artefacts / "int8", extractor=cue_extractor, shared_cpu=True)
    return CascadeScorer.load(CascadeScorer.save(tmp_path / "cascade", meta), fast_scorer, deep)


def _fresh_stages(stages, tmp_path: Path, name: str, scorer):
    from pipeline.cases.service import CaseService
    from pipeline.conversation.store import ConversationStore
    from pipeline.ingest.deadletter import DeadLetterStore

    url = f"sqlite:///{tmp_path / name}.db"
    return replace(stages, validator=Validator(), conversations=ConversationStore(), scorer=scorer,
                   dead_letters=DeadLetterStore(url), cases=CaseService.from_settings(Settings(), url=url))


def _filed(stages) -> set[tuple[str, str, str | None]]:
    with stages.cases.engine.connect() as conn:
        rows = conn.execute(select(CaseRow.conversation_id, CaseMessageRow.message_id, CaseRow.queue)
                            .join(CaseMessageRow, CaseMessageRow.case_id == CaseRow.id)).all()
    return {tuple(row) for row in rows}


def test_the_overlapped_stream_files_exactly_what_one_batch_at_a_time_files(stages, cascade, tmp_path, settings):
    assert isinstance(cascade, StagedScorer)
    path = _replay_file(tmp_path, settings, 300)
    overlapped = _fresh_stages(stages, tmp_path, "overlapped", cascade)
    counters = StreamRunner(overlapped).run(FileSource(path), max_batch=50)  # a file: full batches are held
    one_by_one = _fresh_stages(stages, tmp_path, "one-by-one", cascade)
    runner, source = StreamRunner(one_by_one), FileSource(path)
    for batch in source.batches(50):
        runner.commit(source, runner.prepare(batch))  # no scoring thread, no batch held
    assert counters.received == runner.counters.received == 300
    assert counters.flagged == runner.counters.flagged > 0
    assert _filed(overlapped) == _filed(one_by_one)


def test_a_full_batch_from_a_source_that_must_wait_is_not_held_for_the_next(stages, cascade, tmp_path, settings):
    path = _replay_file(tmp_path, settings, 60)
    source = _Scripted(path, batch=30)
    counters = StreamRunner(_fresh_stages(stages, tmp_path, "live", cascade)).run(source, max_batch=30)
    assert not source.waited_in_vain, "the first batch waited for input that only came after it was acknowledged"
    assert counters.received == 60 and len(source.acked) == 60


def test_a_failure_on_the_scoring_thread_stops_the_stream_unacknowledged(stages, cascade, tmp_path, settings,
                                                                          monkeypatch):
    path = _replay_file(tmp_path, settings, 60)
    source = _Scripted(path, batch=30, patience_s=0.5)
    monkeypatch.setattr(cascade.deep, "session", None)  # the deep model gone: its stage raises on the thread
    with pytest.raises(AttributeError):
        StreamRunner(_fresh_stages(stages, tmp_path, "broken", cascade)).run(source, max_batch=30)
    assert source.acked == []
