"""Choosing the unlabelled messages most worth an analyst's time, and taking their labels back.

Selection is uncertainty sampling with a diversity term (Settles 2009, "Active Learning Literature
Survey", section 3.1; the combination follows Brinker 2003, "Incorporating Diversity in Active
Learning with SVMs", and the greedy max-min step is the k-center greedy of Sener & Savarese 2018,
"Active Learning for Convolutional Neural Networks: A Core-Set Approach"):

1. each message's **uncertainty** is how close its P(complaint) lies to the decision threshold,
   scaled to [0, 1] on each side (1 at the threshold, 0 at 0 or 1), so a calibrated threshold away
   from 0.5 is honoured;
2. the `pool_size` most uncertain distinct texts form the pool;
3. picks are made greedily: the next one maximises
   `w * uncertainty + (1 - w) * distance to the nearest message already picked`, distances being
   cosine distances between TF-IDF-weighted hashed word and character n-grams (the fast model's
   own kind of features). The first pick is the most uncertain message; a near-copy of a message
   already picked scores almost nothing for diversity, so a batch is not spent on retweets and
   templated replies.

The batch goes out as CSV (for a spreadsheet) or as Label Studio tasks with the model's prediction
attached; `import_labels` reads either back, checks every row, and returns rows shaped like
`pipeline.training.feedback.feedback_examples` (source "active_learning").
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from pipeline.config import Settings
from pipeline.datasets.complaint_tweets import UNKNOWN_SEVERITY, normalise_text
from pipeline.errors import EarlywarnError
from pipeline.schema import Author, Message, MessageScore, Severity
from pipeline.signals.hashing import CharNgramHasher, WordNgramHasher
from pipeline.training.feedback import ACTIVE_LEARNING, feedback_frame

COMPLAINT, NOT_COMPLAINT = "complaint", "not_complaint"
LABELS = (COMPLAINT, NOT_COMPLAINT)
SEVERITIES = tuple(s.name for s in Severity)
EXPORT_COLUMNS = ["rank", "message_id", "text", "p_complaint", "uncertainty", "distance", "predicted",
                  "model_version", "label", "severity"]
DEFAULT_POOL = 10_000


class LabelImportError(EarlywarnError, ValueError):
    """A labels file that cannot be taken back: names the file, the row and the fix."""

    code = "E040"

    def __init__(self, path: Path, where: str, reason: str, fix: str) -> None:
        self.path, self.where, self.reason, self.fix = path, where, reason, fix
        super().__init__(f"{path}, {where}: {reason}. {fix[0].upper()}{fix[1:]}.")


@dataclass(frozen=True)
class Selection:
    """One message chosen for labelling, and why."""

    rank: int  # 1 = picked first
    message_id: str
    text: str
    probability: float  # P(complaint) from the model
    uncertainty: float  # 1 at the threshold, 0 at certainty
    distance: float  # cosine distance to the nearest earlier pick when picked (1.0 for the first)
    predicted: str  # complaint | not_complaint, at the threshold
    threshold: float
    model_version: str


@dataclass(frozen=True)
class Candidates:
    """An unlabelled pool: customer messages with the scorer's P(complaint)."""

    ids: list[str]
    texts: list[str]
    probabilities: np.ndarray
    threshold: float
    model_version: str
    conversation_ids: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)


class Scorer(Protocol):
    def score(self, batch: Sequence[Message]) -> list[MessageScore]: ...


# --- choosing ---------------------------------------------------------------------------------------


def uncertainty(probabilities: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """1 at the threshold, falling linearly to 0 at P = 0 and at P = 1."""
    p = np.asarray(probabilities, dtype=float)
    below = p < threshold
    scale = np.where(below, threshold, 1.0 - threshold)
    return np.clip(1.0 - np.abs(p - threshold) / scale, 0.0, 1.0)


def text_features(texts: Sequence[str]) -> sp.csr_matrix:
    """Unit-length TF-IDF vectors of hashed word 1-2-grams and character 3-5-grams (idf from `texts`)."""
    parts = []
    for hasher in (WordNgramHasher((1, 2), n_features=2**18), CharNgramHasher((3, 5), n_features=2**18)):
        counts = hasher.transform(texts)
        parts.append(normalize(TfidfTransformer(sublinear_tf=True).fit_transform(counts)))
    return normalize(sp.hstack(parts, format="csr"))


def _check(ids: Sequence[str], texts: Sequence[str], p: np.ndarray, k: int, threshold: float, pool_size: int,
           uncertainty_weight: float, features: Any) -> None:
    if not len(ids) == len(texts) == len(p):
        raise ValueError(f"ids, texts and probabilities differ in length ({len(ids)}, {len(texts)}, {len(p)}): "
                         "pass one of each per message")
    if k < 1:
        raise ValueError(f"k is {k}: ask for at least one message")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold is {threshold}: give the scorer's decision threshold, strictly between 0 and 1")
    if pool_size < k:
        raise ValueError(f"pool_size {pool_size} is below k {k}: the pool must hold at least k messages")
    if not 0.0 <= uncertainty_weight <= 1.0:
        raise ValueError(f"uncertainty_weight is {uncertainty_weight}: give a weight from 0 (diversity only) to 1 "
                         "(uncertainty only)")
    if len(p) and (not np.isfinite(p).all() or p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("probabilities must be P(complaint) values between 0 and 1")
    if features is not None and features.shape[0] != len(ids):
        raise ValueError(f"features has {features.shape[0]} rows for {len(ids)} messages: give one row per message")


def select_for_labelling(
    ids: Sequence[str],
    texts: Sequence[str],
    probabilities: Sequence[float] | np.ndarray,
    k: int,
    *,
    threshold: float = 0.5,
    features: np.ndarray | sp.spmatrix | None = None,
    pool_size: int = DEFAULT_POOL,
    uncertainty_weight: float = 0.5,
    seed: int = 0,
    model_version: str = "",
) -> list[Selection]:
    """The `k` messages to label next (fewer if fewer distinct texts exist), most valuable first.

    `features` (one row per message, any vectors: embeddings, TF-IDF) replaces the default hashed
    n-gram vectors for the distance. Texts that normalise alike count once (the most uncertain copy
    stays). `seed` breaks ties between equally uncertain messages. `uncertainty_weight` 1.0 is plain
    uncertainty sampling; 0.0 is pure k-center greedy over the pool."""
    p = np.asarray(probabilities, dtype=float)
    _check(ids, texts, p, k, threshold, pool_size, uncertainty_weight, features)
    if not len(p):
        return []
    u = uncertainty(p, threshold)
    order = np.lexsort((np.random.default_rng(seed).permutation(len(p)), -u))  # most uncertain first
    pool: list[int] = []
    seen: set[str] = set()
    for i in order:
        key = normalise_text(texts[i])
        if key in seen:
            continue
        seen.add(key)
        pool.append(int(i))
        if len(pool) == pool_size:
            break
    index = np.asarray(pool)
    if features is None:
        vectors = text_features([texts[i] for i in index])
    else:
        vectors = normalize(features[index] if sp.issparse(features) else np.asarray(features, dtype=float)[index])
    gain_u = uncertainty_weight * u[index]
    nearest = np.ones(len(index))  # cosine distance to the nearest pick so far, clipped to [0, 1]
    taken = np.zeros(len(index), dtype=bool)
    picks: list[Selection] = []
    for rank in range(1, min(k, len(index)) + 1):
        score = np.where(taken, -np.inf, gain_u + (1.0 - uncertainty_weight) * nearest)
        j = int(np.argmax(score))
        taken[j] = True
        i = int(index[j])
        picks.append(Selection(
            rank=rank, message_id=str(ids[i]), text=str(texts[i]), probability=round(float(p[i]), 6),
            uncertainty=round(float(u[i]), 6), distance=round(float(nearest[j]), 6),
            predicted=COMPLAINT if p[i] >= threshold else NOT_COMPLAINT, threshold=threshold,
            model_version=model_version,
        ))
        similarity = vectors @ vectors[j].T
        similarity = np.asarray(similarity.todense() if sp.issparse(similarity) else similarity).ravel()
        nearest = np.minimum(nearest, np.clip(1.0 - similarity, 0.0, 1.0))
    return picks


def candidates_from_replay(
    settings: Settings,
    scorer: Scorer,
    limit: int = 5_000,
    *,
    exclude_texts: Iterable[str] = (),
    batch_size: int = 512,
) -> Candidates:
    """The customer messages among the first `limit` of the real Twitter threads (`ReplaySource`),
    scored by `scorer`, as the unlabelled pool. Texts already labelled (`exclude_texts`, e.g. the
    training tweets and earlier feedback, compared by `normalise_text`) and repeats are left out."""
    from pipeline.ingest.sources.replay import ReplaySource

    excluded = {normalise_text(t) for t in exclude_texts}
    chosen: list[Message] = []
    for message in ReplaySource(settings.data_dir, limit=limit).messages():
        key = normalise_text(message.text)
        if message.author is not Author.customer or key in excluded:
            continue
        excluded.add(key)
        chosen.append(message)
    scores: list[MessageScore] = []
    for start in range(0, len(chosen), batch_size):
        scores += scorer.score(chosen[start : start + batch_size])
    return Candidates(
        ids=[m.id for m in chosen], texts=[m.text for m in chosen],
        probabilities=np.array([s.complaint_probability for s in scores], dtype=float),
        threshold=scores[0].threshold if scores else 0.5, model_version=scores[0].model_version if scores else "",
        conversation_ids=[m.conversation_id for m in chosen],
    )


# --- export -------------------------------------------------------------------------------------------


def export_csv(selections: Sequence[Selection], path: Path) -> Path:
    """A spreadsheet to fill in: `label` (complaint / not_complaint; blank skips the row) and,
    optionally, `severity` (none, no_explicit_reproach, disapproval, accusation, blame)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM lets Excel read UTF-8
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for s in selections:
            writer.writerow([s.rank, s.message_id, s.text, s.probability, s.uncertainty, s.distance, s.predicted,
                             s.model_version, "", ""])
    return path


def label_studio_tasks(selections: Sequence[Selection]) -> list[dict[str, Any]]:
    """Label Studio tasks with the model's guess as a pre-annotation. The prediction `score` is the
    model's confidence in the choice it shows (P for complaint, 1 - P for not_complaint), so sorting
    by it in Label Studio puts the least certain first."""
    return [{
        "data": {"text": s.text, "message_id": s.message_id, "rank": s.rank, "p_complaint": s.probability,
                 "uncertainty": s.uncertainty},
        "predictions": [{
            "model_version": s.model_version or "unknown",
            "score": round(s.probability if s.predicted == COMPLAINT else 1.0 - s.probability, 6),
            "result": [{"from_name": "complaint", "to_name": "text", "type": "choices",
                        "value": {"choices": [s.predicted]}}],
        }],
    } for s in selections]


def export_label_studio(selections: Sequence[Selection], path: Path) -> Path:
    """The tasks as a JSON file to import into a Label Studio project set up with `label_config()`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(label_studio_tasks(selections), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def label_config() -> str:
    """The Label Studio labelling interface the exported tasks and `import_labels` expect."""
    severities = "\n".join(f'    <Choice value="{name}"/>' for name in SEVERITIES)
    return f"""<View>
  <Header value="Is this message a complaint? Any expression of dissatisfaction counts, justified or not."/>
  <Text name="text" value="$text"/>
  <Choices name="complaint" toName="text" choice="single" showInline="true" required="true">
    <Choice value="{COMPLAINT}"/>
    <Choice value="{NOT_COMPLAINT}"/>
  </Choices>
  <Header value="Severity (optional): none for a non-complaint; for a complaint, how strongly it reproaches."/>
  <Choices name="severity" toName="text" choice="single" showInline="true">
{severities}
  </Choices>
</View>
"""


# --- import -------------------------------------------------------------------------------------------

_LABEL_WORDS = {COMPLAINT: 1, NOT_COMPLAINT: 0, "1": 1, "0": 0}


def _label(value: str, fail: Any) -> int | None:
    word = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if not word:
        return None
    if word not in _LABEL_WORDS:
        fail(f"label {value!r} is not one of {', '.join(LABELS)}",
             f"write {COMPLAINT} or {NOT_COMPLAINT} (or 1 / 0), or leave the label blank to skip the row")
    return _LABEL_WORDS[word]


def _severity(value: str | None, label: int, fail: Any) -> int:
    word = str(value or "").strip().lower().replace(" ", "_").replace("-", "_")
    if not word:
        return 0 if label == 0 else UNKNOWN_SEVERITY  # a non-complaint is always severity none (X-CI)
    if word.isdigit() and int(word) in set(Severity):
        level = Severity(int(word))
    elif word in SEVERITIES:
        level = Severity[word]
    else:
        fail(f"severity {value!r} is not one of {', '.join(SEVERITIES)}",
             "write one of those names (or 0-4), or leave the severity blank")
    if label == 0 and level is not Severity.none:
        fail(f"severity {level.name} is given for a message labelled {NOT_COMPLAINT}",
             f"a non-complaint has severity none: blank the severity, or change the label to {COMPLAINT}")
    if label == 1 and level is Severity.none:
        fail(f"severity none is given for a message labelled {COMPLAINT}",
             f"choose a level from {', '.join(SEVERITIES[1:])}, blank it if unsure, or change the label")
    return int(level)


def _record(message_id: str, text: str, label: int, severity: int, at: datetime) -> dict[str, Any]:
    return {"text": text, "label": label, "severity": severity, "source": ACTIVE_LEARNING, "case_id": None,
            "message_id": message_id, "outcome": None, "justified": None, "rule": "annotated",
            "confirmed_by": "annotator", "labelled_at": at}


def _failer(path: Path, where: str) -> Any:
    def fail(reason: str, fix: str) -> None:
        raise LabelImportError(path, where, reason, fix)

    return fail


def _read_csv(path: Path) -> tuple[list[dict[str, Any]], int]:
    at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("message_id", "text", "label") if c not in columns]
        if missing:
            raise LabelImportError(path, "row 1 (the header)", f"the columns {', '.join(missing)} are missing",
                                   "label the file `export_csv` wrote (keep its header row), or add those columns")
        reader.fieldnames = columns
        records: list[dict[str, Any]] = []
        unlabelled = 0
        for n, row in enumerate(reader, start=2):  # spreadsheet rows: the header is row 1
            message_id = (row.get("message_id") or "").strip()
            fail = _failer(path, f"row {n} (message_id {message_id or '?'})")
            label = _label(row.get("label") or "", fail)
            if label is None:
                unlabelled += 1
                continue
            if not message_id:
                fail("the message_id is blank", "restore the id the export wrote in this row")
            if not (row.get("text") or "").strip():
                fail("the text is blank", "restore the text the export wrote in this row")
            records.append({**_record(message_id, row["text"], label, _severity(row.get("severity"), label, fail), at),
                            "_where": f"row {n}"})
    return records, unlabelled


def _choice(result: list[Any], name: str, fail: Any) -> str | None:
    for item in result:
        if isinstance(item, dict) and item.get("from_name") == name:
            choices = (item.get("value") or {}).get("choices") or []
            if len(choices) != 1:
                fail(f"the {name} choice holds {len(choices)} values", f"choose exactly one {name} value")
            return str(choices[0])
    return None


def _when(annotation: dict[str, Any], default: datetime) -> datetime:
    stamp = annotation.get("updated_at") or annotation.get("created_at")
    try:
        when = datetime.fromisoformat(str(stamp)) if stamp else default
    except ValueError:
        return default
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _read_label_studio(path: Path) -> tuple[list[dict[str, Any]], int]:
    default = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LabelImportError(path, f"line {exc.lineno}", f"the file is not valid JSON ({exc.msg})",
                               "export the project again from Label Studio as JSON") from None
    if not isinstance(tasks, list):
        raise LabelImportError(path, "the top level", "the file is not a list of tasks",
                               "export from Label Studio with the JSON format (not JSON-MIN or CSV)")
    records: list[dict[str, Any]] = []
    unlabelled = 0
    for n, task in enumerate(tasks, start=1):
        data = task.get("data") if isinstance(task, dict) else None
        message_id = str((data or {}).get("message_id") or "").strip()
        ident = f", id {task['id']}" if isinstance(task, dict) and "id" in task else ""
        fail = _failer(path, f"task {n}{ident} (message_id {message_id or '?'})")
        if not isinstance(data, dict):
            fail("the task has no data object", "export from Label Studio with the JSON format (not JSON-MIN or CSV)")
        if not message_id:
            fail("data.message_id is missing", "import the tasks `export_label_studio` wrote, which carry the id")
        text = str(data.get("text") or "")
        if not text.strip():
            fail("data.text is missing or blank", "import the tasks `export_label_studio` wrote, which carry the text")
        done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        if not done:  # not labelled yet, or every annotation skipped
            unlabelled += 1
            continue
        labels: list[int] = []
        levels: list[int] = []
        for a in done:
            result = a.get("result") or []
            choice = _choice(result, "complaint", fail)
            if choice is None:
                fail("an annotation has no complaint choice",
                     f"choose {COMPLAINT} or {NOT_COMPLAINT} for it in Label Studio, or skip the task")
            label = _label(choice, fail)
            assert label is not None
            labels.append(label)
            levels.append(_severity(_choice(result, "severity", fail), label, fail))
        if len(set(labels)) > 1:
            fail(f"its {len(labels)} annotations disagree ({', '.join(LABELS[1 - x] for x in labels)})",
                 "settle the disagreement in Label Studio (correct or delete one annotation) and export again")
        rated = {x for x in levels if x >= 0}
        severity = rated.pop() if len(rated) == 1 else (0 if labels[0] == 0 else UNKNOWN_SEVERITY)
        at = max(_when(a, default) for a in done)
        records.append({**_record(message_id, text, labels[0], severity, at), "_where": f"task {n}"})
    return records, unlabelled


def import_labels(path: Path) -> pd.DataFrame:
    """The labelled rows of a filled-in CSV (`export_csv`) or a Label Studio JSON export, checked,
    as a feedback frame (`FEEDBACK_COLUMNS`, source "active_learning").

    Blank labels (CSV) and tasks with no submitted annotation (Label Studio) are skipped and counted
    in `attrs["unlabelled"]`. A row that cannot be read raises `LabelImportError` naming the file,
    the row (spreadsheet row, or task number) and the fix; so does one message labelled twice
    differently. Annotators who disagree on severity leave it unrated. `labelled_at` is the latest
    annotation's time for Label Studio, the file's modification time for a CSV."""
    path = Path(path)
    if not path.is_file():
        raise LabelImportError(path, "the file", "it does not exist", "give the path of the filled-in export")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records, unlabelled = _read_csv(path)
    elif suffix == ".json":
        records, unlabelled = _read_label_studio(path)
    else:
        raise LabelImportError(path, "the file name", f"cannot tell the format from {suffix or 'no extension'!r}",
                               "give a .csv (the filled-in spreadsheet) or a .json (a Label Studio JSON export)")
    first: dict[str, dict[str, Any]] = {}
    unique = []
    for r in records:
        seen = first.get(r["message_id"])
        if seen is None:
            first[r["message_id"]] = r
            unique.append(r)
        elif seen["label"] != r["label"]:
            raise LabelImportError(path, r["_where"], f"message {r['message_id']} is labelled "
                                   f"{LABELS[1 - r['label']]} here but {LABELS[1 - seen['label']]} in {seen['_where']}",
                                   "keep one label for the message and blank the other")
    frame = feedback_frame([{k: v for k, v in r.items() if k != "_where"} for r in unique])
    frame.attrs = {"labelled": len(frame), "unlabelled": unlabelled, "duplicates": len(records) - len(unique)}
    return frame


def selections_frame(selections: Sequence[Selection]) -> pd.DataFrame:
    """The picks as a table (for printing or a notebook)."""
    return pd.DataFrame([asdict(s) for s in selections])
