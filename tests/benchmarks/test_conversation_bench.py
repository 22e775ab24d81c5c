from pipeline.benchmarks.conversation import bench_conversation
from pipeline.config import Settings


def test_bench_reports_update_rate_and_footprint_per_conversation(models_dir, settings):
    report = bench_conversation(Settings(models_dir=models_dir, data_dir=settings.data_dir),
                                conversations=500, rounds=3, repeats=1)
    assert report["updates"] == 1500 and report["open_conversations"] == 500
    assert report["updates_per_s"] > 0
    assert 200 < report["bytes_per_open_conversation"] < 4096  # holds a bounded window, not the messages
    assert 0 < report["snapshot_bytes_per_conversation"] < 2048
