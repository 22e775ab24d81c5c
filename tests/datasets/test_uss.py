from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.datasets import DatasetFormatError
from pipeline.datasets.uss import CORPORA, load_uss, user_turns_frame
from pipeline.errors import DataNotFoundError

DIALOGUES = {"MWOZ": 1_000, "SGD": 1_000, "ReDial": 1_000, "CCPE": 500}
USER_TURNS = {"MWOZ": 11_553, "SGD": 12_833, "ReDial": 10_806, "CCPE": 6_360}  # 41,552 in all
DISSATISFIED = {"MWOZ": 71, "SGD": 85, "ReDial": 63, "CCPE": 47}  # mean rating <= 2


@pytest.fixture(scope="module")
def dialogues(data_dir: Path):
    return load_uss(data_dir=data_dir)


def test_counts_per_corpus(dialogues) -> None:
    assert Counter(d.corpus for d in dialogues) == DIALOGUES
    users = Counter()
    dissatisfied = Counter()
    for d in dialogues:
        users[d.corpus] += len(d.user_turns)
        dissatisfied[d.corpus] += sum(t.dissatisfied for t in d.user_turns)
    assert users == USER_TURNS
    assert sum(users.values()) == 41_552
    assert dissatisfied == DISSATISFIED


def test_record_fields(dialogues) -> None:
    ids = [d.dialogue_id for d in dialogues]
    assert len(set(ids)) == len(ids) == 3_500
    assert ids[0] == "MWOZ-0000"
    first = dialogues[0].turns[0]
    assert first.role == "user" and first.text.startswith("I'm looking for a cheap restaurant")
    assert first.action == "Restaurant-Inform" and first.ratings == (3, 3, 3, 3) and first.satisfaction == 3.0
    for d in dialogues:
        assert d.overall is not None and 1 <= d.overall <= 5 and d.overall_ratings
        assert all(t.text != "OVERALL" for t in d.turns)
        for t in d.turns:
            if t.role == "system":
                assert t.ratings == () and t.satisfaction is None
            else:
                assert 3 <= len(t.ratings) <= 7 and all(1 <= r <= 5 for r in t.ratings)
                assert t.satisfaction == pytest.approx(sum(t.ratings) / len(t.ratings))


def test_rating_counts_vary_within_a_corpus(dialogues) -> None:
    lengths = Counter(len(t.ratings) for d in dialogues if d.corpus == "MWOZ" for t in d.user_turns)
    assert set(lengths) == {3, 4, 5, 6}


def test_empty_text_turns_are_kept(dialogues) -> None:
    empty = [t for d in dialogues if d.corpus == "ReDial" for t in d.turns if t.text == ""]
    assert len(empty) == 7 and sum(t.role == "user" for t in empty) == 4


def test_user_turns_frame(dialogues) -> None:
    frame = user_turns_frame(dialogues)
    assert len(frame) == 41_552
    assert frame["dissatisfied"].sum() == sum(DISSATISFIED.values())
    assert (frame.groupby("dialogue_id")["turn_index"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_one_corpus_by_name(data_dir: Path) -> None:
    assert len(load_uss("CCPE", data_dir)) == 500
    assert {d.corpus for d in load_uss(("CCPE",), data_dir)} == {"CCPE"}


def test_unknown_corpus_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown USS corpus JDDC"):
        load_uss(("JDDC",), data_dir)


def test_edge_cases_in_a_small_file(tmp_path: Path) -> None:
    (tmp_path / "uss").mkdir()
    (tmp_path / "uss" / "SGD.txt").write_text(
        "\nUSER\thi\t\t3,2,3\nSYSTEM\thello\tGREET\t\nUSER\tbad\tINFORM\t1,2,2,1,2\n\n\n"
        "USER\tno overall here\tINFORM\t3,3,3\n",
        encoding="utf-8",
    )
    first, second = load_uss(("SGD",), tmp_path)
    assert first.overall is None and [t.role for t in first.turns] == ["user", "system", "user"]
    assert first.turns[2].dissatisfied and not first.turns[0].dissatisfied
    assert second.dialogue_id == "SGD-0001" and len(second.turns) == 1


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "uss").mkdir()
    (tmp_path / "uss" / "CCPE.txt").write_text("USER\thi\t\t3,x,3\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match=r"CCPE.txt:1: sat '3,x,3'"):
        load_uss(("CCPE",), tmp_path)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "uss" / "MWOZ.txt")):
        load_uss(CORPORA, tmp_path)
