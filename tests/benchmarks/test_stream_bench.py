from pipeline.benchmarks.stream import bench_stream
from pipeline.config import Settings
from pipeline.scoring.registry import ScorerName


def test_bench_reports_sustained_rate_and_paced_latency_on_both_paths(stream_models, settings, postgres_url,
                                                                        redis_url, tmp_path):
    # one reading worker: the benchmark's stages fork it after loading their models, on both paths
    local = Settings(models_dir=stream_models, data_dir=settings.data_dir, redis_url=redis_url, stream_readers=1)
    report = bench_stream(local, ScorerName.fast, messages=300, rate=100, seconds=1.5, database_url=postgres_url,
                          work_dir=tmp_path)
    assert report["reading_workers"] == 1
    for path in ("file_to_sqlite", "redis_to_postgresql"):
        sustained, paced = report[path]["sustained"], report[path]["at_100_per_s"]
        assert sustained["received"] == 300 and sustained["messages_per_s"] > 0
        assert "ingest_to_flag_p99_ms" not in sustained  # a drained backlog's latency is queueing, not reported
        assert paced["received"] == 150
        assert paced["flagged"] == 0 or 0 < paced["ingest_to_flag_p50_ms"] <= paced["ingest_to_flag_p99_ms"]
