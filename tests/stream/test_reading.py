"""Reading batches in forked worker processes: the same decisions as reading in the stream's own process."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from pipeline.errors import ConfigError
from pipeline.ingest.sources.file import FileSource
from pipeline.ingest.sources.replay import ReplaySource
from pipeline.stream import reading
from pipeline.stream.reading import ReadingPool
from pipeline.stream.runner import StreamRunner
from tests.stream.test_runner import _filed, _fresh_stages, _replay_file, _Scripted, cascade  # noqa: F401

READ_TIMEOUT_S = 120  # a worker that hangs (an ONNX session used across a fork) fails the test, not the run


def test_a_forked_worker_reads_a_batch_as_the_stream_process_does(stages, cascade, settings):  # noqa: F811
    messages = list(ReplaySource(settings.data_dir, limit=120).messages())
    readers = replace(stages, scorer=cascade).readers
    here = readers.read(messages).result()
    pool = ReadingPool(readers, workers=2)
    try:
        there = pool.read(messages).result(timeout=READ_TIMEOUT_S)
    finally:
        pool.close()
    assert [s.model_dump() for s in there.scores] == [s.model_dump() for s in here.scores]
    assert there.trouble == here.trouble
    assert len(there.scores) == sum(m.author.value == "customer" for m in messages) > 0


def _deep_session_opened_here() -> bool:
    assert reading._INHERITED is not None
    return reading._INHERITED.scorer.deep._opened_in == os.getpid()


def test_a_reading_worker_opens_its_own_onnx_session_as_it_starts(stages, cascade):  # noqa: F811
    pool = ReadingPool(replace(stages, scorer=cascade).readers, workers=1)
    try:  # before any batch: opening it in the first one would add its cost to that batch's latency
        assert pool._pool.submit(_deep_session_opened_here).result(timeout=READ_TIMEOUT_S)
    finally:
        pool.close()
    assert cascade.deep._opened_in == os.getpid()  # the stream's own process keeps its session


def test_a_stream_with_reading_workers_files_exactly_what_one_without_files(stages, cascade, tmp_path, settings):  # noqa: F811
    path = _replay_file(tmp_path, settings, 300)
    alone = _fresh_stages(stages, tmp_path, "alone", cascade)
    counters = StreamRunner(alone).run(FileSource(path), max_batch=40)
    pooled = _fresh_stages(stages, tmp_path, "pooled", cascade)
    pooled.pool = ReadingPool(pooled.readers, workers=2)
    try:
        with_workers = StreamRunner(pooled).run(FileSource(path), max_batch=40)  # a file: batches overlap
    finally:
        pooled.close()
    assert with_workers.received == counters.received == 300
    assert with_workers.flagged == counters.flagged > 0
    assert _filed(pooled) == _filed(alone)


def test_a_failure_in_a_reading_worker_stops_the_stream_unacknowledged(stages, cascade, tmp_path, settings,  # noqa: F811
                                                                       monkeypatch):
    path = _replay_file(tmp_path, settings, 60)
    source = _Scripted(path, batch=30, patience_s=0.5)
    monkeypatch.setattr(cascade.deep, "_graph", tmp_path / "gone.onnx")  # a worker's session cannot reopen
    broken = _fresh_stages(stages, tmp_path, "broken", cascade)
    broken.pool = ReadingPool(broken.readers, workers=1)
    try:
        with pytest.raises(Exception, match="gone.onnx"):
            StreamRunner(broken).run(source, max_batch=30)
    finally:
        broken.close()
    assert source.acked == []


def test_a_pool_of_no_workers_is_refused_with_the_setting_to_change(stages):
    with pytest.raises(ConfigError, match="EARLYWARN_STREAM_READERS"):
        ReadingPool(stages.readers, workers=0)
