"""`earlywarn feedback export` then `import`: real replayed messages out for labelling, labels back in."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import get_settings

runner = CliRunner()


def test_messages_go_out_for_labelling_and_the_labels_come_back(stream_models, tmp_path, monkeypatch):
    monkeypatch.setenv("EARLYWARN_MODELS_DIR", str(stream_models))
    get_settings.cache_clear()
    try:
        out = runner.invoke(app, ["feedback", "export", "--output", str(tmp_path), "--k", "6", "--limit", "80"])
        assert out.exit_code == 0, out.output
        exported = json.loads(out.stdout)
        assert exported["selected"] == 6
        tasks = json.loads((tmp_path / "tasks.label-studio.json").read_text())
        assert len(tasks) == 6 and all(t["data"]["text"] for t in tasks)
        assert "<Choices" in (tmp_path / "label-studio-config.xml").read_text()
        rows = list(csv.DictReader((tmp_path / "tasks.csv").open()))
        for n, row in enumerate(rows):
            row["label"] = "complaint" if n % 2 else "not_complaint"
            row["severity"] = "disapproval" if n % 2 else "none"
        with (tmp_path / "filled.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        kept = tmp_path / "labels.csv"
        back = runner.invoke(app, ["feedback", "import", str(tmp_path / "filled.csv"), "--output", str(kept)])
        assert back.exit_code == 0, back.output
        assert json.loads(back.stdout)["rows_now"] == 6
        again = runner.invoke(app, ["feedback", "import", str(tmp_path / "filled.csv"), "--output", str(kept)])
        assert json.loads(again.stdout)["rows_now"] == 12  # kept labels are read back, typed, and extended
    finally:
        get_settings.cache_clear()
