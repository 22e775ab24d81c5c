import pytest

from pipeline.datasets.complaint_tweets import UNKNOWN_SEVERITY, load_complaint_tweets, normalise_text
from pipeline.errors import DataNotFoundError


def test_join_with_xci_covers_every_tweet_it_can(complaint_tweets):
    assert len(complaint_tweets) == 2759
    assert complaint_tweets["label"].value_counts().to_dict() == {0: 1774, 1: 985}
    unknown = complaint_tweets[complaint_tweets["severity"] == UNKNOWN_SEVERITY]
    assert len(unknown) <= 5 and (unknown["label"] == 1).all()  # only complaints can lack a severity


def test_severity_agrees_with_the_complaint_label(complaint_tweets):
    rated = complaint_tweets[complaint_tweets["severity"] != UNKNOWN_SEVERITY]
    assert ((rated["severity"] == 0) == (rated["label"] == 0)).all()
    assert set(rated["severity"]) == {0, 1, 2, 3, 4}
    assert set(complaint_tweets["sentiment"]) <= {"positive", "neutral", "negative", ""}


def test_normalisation_ignores_case_entities_and_spacing():
    assert normalise_text("Fix  it &amp; NOW\n") == normalise_text("fix it & now")


def test_missing_release_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError, match="fetch_data.py"):
        load_complaint_tweets(tmp_path)
