"""The unlabelled pool the fast model is distilled on: real customer messages, reproducible, never a labelled one."""

from __future__ import annotations

from pipeline.datasets.complaint_tweets import load_complaint_tweets, normalise_text
from pipeline.datasets.customer_pool import MIN_CHARS, load_customer_pool


def test_pool_is_distinct_customer_text_without_the_labelled_tweets(data_dir):
    labelled = load_complaint_tweets(data_dir)["text"]
    pool = load_customer_pool(data_dir, size=3000, seed=5, exclude=labelled)
    keys = [normalise_text(t) for t in pool.texts]
    assert len(pool.texts) == 3000 < pool.drawn_from
    assert len(set(keys)) == len(keys)
    assert not set(keys) & set(labelled.map(normalise_text))
    assert min(len(k) for k in keys) >= MIN_CHARS


def test_a_labelled_text_found_in_the_pool_is_left_out(data_dir):
    pool = load_customer_pool(data_dir, size=50, seed=5)
    without = load_customer_pool(data_dir, size=50, seed=5, exclude=[pool.texts[0].upper() + "  "])
    assert pool.texts[0] not in without.texts
    assert pool.texts[1] in without.texts


def test_same_seed_same_pool_and_its_fingerprint_names_it(data_dir):
    first, again = load_customer_pool(data_dir, size=200, seed=1), load_customer_pool(data_dir, size=200, seed=1)
    other = load_customer_pool(data_dir, size=200, seed=2)
    assert first.texts == again.texts and first.fingerprint == again.fingerprint
    assert other.fingerprint != first.fingerprint
    assert load_customer_pool(data_dir, size=199, seed=1).texts == first.texts[:199]
