"""Active learning: the batch is uncertain and diverse, goes out as CSV and Label Studio tasks, and the
labels come back checked, row by row, in the feedback shape."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from pipeline.schema import Author
from pipeline.training.active_learning import (
    EXPORT_COLUMNS,
    LabelImportError,
    candidates_from_replay,
    export_csv,
    export_label_studio,
    import_labels,
    label_config,
    select_for_labelling,
    uncertainty,
)
from pipeline.training.feedback import FEEDBACK_COLUMNS

TEXTS = {
    "a": "my card was declined again at the shop, third time this week",
    "a2": "my card was declined again at the shop, third time this week!!",  # a near-copy of a
    "b": "how do I change the address on my account?",
    "c": "the app logged me out and now my password does not work",
    "d": "thanks, all sorted now",
    "e": "you have lost my parcel and nobody answers the phone",
}


def pick(probabilities: dict[str, float], k: int, **options) -> list[str]:
    ids = list(probabilities)
    chosen = select_for_labelling(ids, [TEXTS[i] for i in ids], [probabilities[i] for i in ids], k, **options)
    return [s.message_id for s in chosen]


def test_uncertainty_peaks_at_the_threshold():
    u = uncertainty(np.array([0.0, 0.15, 0.3, 0.65, 1.0]), threshold=0.3)
    assert u.tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])


def test_the_most_uncertain_come_first():
    probabilities = {"b": 0.02, "c": 0.48, "d": 0.97, "e": 0.6}
    assert pick(probabilities, 2) == ["c", "e"]
    assert pick(probabilities, 1, threshold=0.97) == ["d"]  # a calibrated threshold moves the peak


def test_a_near_duplicate_is_not_picked_twice():
    probabilities = {"a": 0.5, "a2": 0.5, "c": 0.3, "e": 0.8}
    chosen = pick(probabilities, 2)
    assert len({"a", "a2"} & set(chosen)) == 1 and "c" in chosen
    # the diversity term is what does it: plain uncertainty sampling takes both copies
    assert set(pick(probabilities, 2, uncertainty_weight=1.0)) == {"a", "a2"}


def test_identical_texts_count_once_and_features_can_be_given():
    ids, texts = ["x", "y", "z"], ["Refund please", "refund   please", "new card"]
    chosen = select_for_labelling(ids, texts, [0.5, 0.5, 0.1], 3)
    assert len(chosen) == 2 and {s.text.lower().split()[0] for s in chosen} == {"refund", "new"}

    vectors = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0]])  # y is x's twin in the given space
    chosen = select_for_labelling(["x", "y", "z"], ["one", "two", "three"], [0.5, 0.5, 0.3], 2, features=vectors)
    assert [s.message_id for s in chosen][1] == "z"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        select_for_labelling(["a"], ["x", "y"], [0.5], 1)
    with pytest.raises(ValueError, match="at least one"):
        select_for_labelling(["a"], ["x"], [0.5], 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        select_for_labelling(["a"], ["x"], [1.5], 1)


@pytest.fixture
def batch():
    probabilities = {"a": 0.55, "b": 0.3, "c": 0.45, "e": 0.7}
    ids = list(probabilities)
    return select_for_labelling(ids, [TEXTS[i] for i in ids], [probabilities[i] for i in ids], 4,
                                model_version="fast-test")


def test_csv_round_trip(tmp_path, batch):
    path = export_csv(batch, tmp_path / "out" / "batch.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == EXPORT_COLUMNS and len(rows) == 4
    answers = {"a": ("complaint", "accusation"), "b": ("not_complaint", ""), "c": ("Complaint", ""), "e": ("", "")}
    for row in rows:
        row["label"], row["severity"] = answers[row["message_id"]]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    frame = import_labels(path)
    assert list(frame.columns) == FEEDBACK_COLUMNS
    got = frame.set_index("message_id")
    assert got["label"].to_dict() == {"a": 1, "b": 0, "c": 1}  # e left blank: skipped
    assert got["severity"].to_dict() == {"a": 3, "b": 0, "c": -1}
    assert got.loc["a", "text"] == TEXTS["a"]
    assert (frame["source"] == "active_learning").all()
    assert frame.attrs["unlabelled"] == 1


def test_label_studio_round_trip(tmp_path, batch):
    path = export_label_studio(batch, tmp_path / "tasks.json")
    tasks = json.loads(path.read_text())
    first = tasks[0]
    assert first["data"]["message_id"] == batch[0].message_id and first["data"]["text"] == batch[0].text
    prediction = first["predictions"][0]
    assert prediction["model_version"] == "fast-test"
    assert prediction["result"][0] == {"from_name": "complaint", "to_name": "text", "type": "choices",
                                       "value": {"choices": [batch[0].predicted]}}

    # what Label Studio's JSON export gives back: task ids, annotations (one cancelled, one task unlabelled)
    def result(label, severity=None):
        out = [{"id": "r1", "from_name": "complaint", "to_name": "text", "type": "choices",
                "value": {"choices": [label]}}]
        if severity:
            out.append({"id": "r2", "from_name": "severity", "to_name": "text", "type": "choices",
                        "value": {"choices": [severity]}})
        return out

    exported = []
    for n, task in enumerate(tasks, start=1):
        mid = task["data"]["message_id"]
        annotations = {
            "a": [{"result": result("complaint", "blame"), "was_cancelled": False, "updated_at": "2026-11-20T10:00:00Z"},
                  {"result": result("complaint"), "was_cancelled": False, "updated_at": "2026-11-21T10:00:00Z"}],
            "b": [{"result": result("not_complaint"), "was_cancelled": False},
                  {"result": result("complaint"), "was_cancelled": True}],
            "c": [{"result": result("not_complaint", "none"), "was_cancelled": False}],
            "e": [],
        }[mid]
        exported.append({"id": 100 + n, **task, "annotations": annotations})
    export = tmp_path / "project-1-at-2026-11-21.json"
    export.write_text(json.dumps(exported))

    frame = import_labels(export)
    got = frame.set_index("message_id")
    assert got["label"].to_dict() == {"a": 1, "b": 0, "c": 0}
    assert got["severity"].to_dict() == {"a": 4, "b": 0, "c": 0}
    assert str(got.loc["a", "labelled_at"]) == "2026-11-21 10:00:00+00:00"  # the latest annotation
    assert frame.attrs["unlabelled"] == 1


def test_label_config_matches_the_tasks(batch):
    root = ET.fromstring(label_config())
    text = root.find("Text")
    assert text is not None and text.get("name") == "text" and text.get("value") == "$text"
    choices = {c.get("name"): c for c in root.iter("Choices")}
    assert set(choices) == {"complaint", "severity"}
    assert all(c.get("toName") == "text" for c in choices.values())
    assert [c.get("value") for c in choices["complaint"]] == ["complaint", "not_complaint"]
    assert [c.get("value") for c in choices["severity"]] == ["none", "no_explicit_reproach", "disapproval",
                                                              "accusation", "blame"]


def _csv(path, *rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message_id", "text", "label", "severity"])
        writer.writerows(rows)
    return path


def test_a_bad_label_is_refused_naming_the_row_and_the_fix(tmp_path):
    path = _csv(tmp_path / "labels.csv", ["m1", "fine", "not_complaint", ""], ["m2", "awful", "maybe", ""])
    with pytest.raises(LabelImportError) as caught:
        import_labels(path)
    message = str(caught.value)
    assert "row 3" in message and "m2" in message and "'maybe'" in message
    assert "complaint or not_complaint" in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("row", "says"), [
    (["m1", "fine", "not_complaint", "blame"], "severity blame is given for a message labelled not_complaint"),
    (["m1", "awful", "complaint", "none"], "severity none is given"),
    (["m1", "awful", "complaint", "furious"], "severity 'furious'"),
    (["", "awful", "complaint", ""], "message_id is blank"),
    (["m1", " ", "complaint", ""], "text is blank"),
])
def test_inconsistent_rows_are_refused(tmp_path, row, says):
    with pytest.raises(LabelImportError, match=says) as caught:
        import_labels(_csv(tmp_path / "labels.csv", row))
    assert "row 2" in str(caught.value)


def test_conflicts_and_wrong_files_are_refused(tmp_path):
    twice = _csv(tmp_path / "twice.csv", ["m1", "awful", "complaint", ""], ["m1", "awful", "not_complaint", ""])
    with pytest.raises(LabelImportError, match="row 3.*labelled not_complaint here but complaint in row 2"):
        import_labels(twice)

    disagree = tmp_path / "disagree.json"
    disagree.write_text(json.dumps([{"id": 7, "data": {"text": "hmm", "message_id": "m1"}, "annotations": [
        {"result": [{"from_name": "complaint", "value": {"choices": ["complaint"]}}]},
        {"result": [{"from_name": "complaint", "value": {"choices": ["not_complaint"]}}]}]}]))
    with pytest.raises(LabelImportError, match=r"task 1, id 7 \(message_id m1\).*disagree"):
        import_labels(disagree)

    minimal = tmp_path / "min.json"
    minimal.write_text(json.dumps({"text": "hmm", "complaint": "complaint"}))
    with pytest.raises(LabelImportError, match="not a list of tasks"):
        import_labels(minimal)
    with pytest.raises(LabelImportError, match="header"):
        import_labels(_write(tmp_path / "nolabel.csv", "message_id,text\nm1,hi\n"))
    with pytest.raises(LabelImportError, match=r"\.csv.*\.json"):
        import_labels(_write(tmp_path / "labels.xlsx", "x"))


def _write(path, content):
    path.write_text(content)
    return path


def test_the_pool_comes_from_the_real_threads(settings, fast_scorer, complaint_tweets):
    pool = candidates_from_replay(settings, fast_scorer, limit=400, exclude_texts=complaint_tweets["text"])
    assert 50 < len(pool) < 400  # agents' replies are left out
    assert len(set(pool.ids)) == len(pool) and len(pool.probabilities) == len(pool)
    assert ((pool.probabilities >= 0) & (pool.probabilities <= 1)).all()
    assert pool.threshold == pytest.approx(fast_scorer.threshold) and pool.model_version == fast_scorer.version

    from pipeline.ingest.sources.replay import ReplaySource

    authors = {m.id: m.author for m in ReplaySource(settings.data_dir, limit=400).messages()}
    assert all(authors[i] is Author.customer for i in pool.ids)

    chosen = select_for_labelling(pool.ids, pool.texts, pool.probabilities, 10, threshold=pool.threshold,
                                  model_version=pool.model_version)
    picked = np.array([s.uncertainty for s in chosen])
    assert len(chosen) == 10 and picked.mean() > uncertainty(pool.probabilities, pool.threshold).mean()
