import numpy as np

from pipeline.signals.hashing import CharNgramHasher, WordNgramHasher


def test_counts_every_within_word_ngram_once_per_occurrence():
    hasher = CharNgramHasher(ngram_range=(2, 4))
    text = "Refund refund NOW"
    row = hasher.transform([text])
    grams = hasher.ngrams(text)
    assert row.sum() == len(grams)  # one count per n-gram occurrence
    assert row.nnz == len(set(grams))  # repeated n-grams ("refund" twice, any case) share a column


def test_ngrams_never_cross_words_or_documents():
    hasher = CharNgramHasher(ngram_range=(2, 5))
    joined, split = hasher.transform(["abcd", "ab cd"])
    assert set(joined.indices) != set(split.indices)
    assert " ab " in hasher.ngrams("ab cd") and "b c" not in hasher.ngrams("ab cd")
    # a batch gives each document exactly the row it gets alone
    batch = hasher.transform(["late again", "still waiting"])
    alone = hasher.transform(["still waiting"])
    np.testing.assert_array_equal(batch[1].toarray(), alone.toarray())


def test_same_ngram_same_column_across_batches_and_blank_text_is_empty():
    hasher = CharNgramHasher()
    first = hasher.transform(["delay"])
    second = hasher.transform(["nothing", "delay"])
    np.testing.assert_array_equal(first.toarray(), second[1].toarray())
    assert hasher.transform(["   "]).nnz == 0
    assert hasher.transform(["ünïcode ✈"]).nnz > 0


def test_word_ngrams_follow_sklearns_token_pattern_and_count_each_occurrence():
    hasher = WordNgramHasher(ngram_range=(1, 2))
    text = "Refund me NOW, refund me!! a 2nd time"
    row = hasher.transform([text])
    grams = hasher.ngrams(text)  # single characters ("a") are not words, as in sklearn
    assert "a" not in grams and "refund me" in grams
    assert row.sum() == len(grams)
    assert row.nnz == len(set(grams))


def test_word_bigrams_never_cross_documents_and_rows_do_not_depend_on_the_batch():
    hasher = WordNgramHasher(ngram_range=(1, 2))
    batch = hasher.transform(["still waiting", "refund please", "   ", "naïve café ✈ ok"])
    alone = [hasher.transform([t]) for t in ["still waiting", "refund please", "   ", "naïve café ✈ ok"]]
    for i, single in enumerate(alone):
        np.testing.assert_array_equal(batch[i].toarray(), single.toarray())
    assert batch[0].sum() == 3 and batch[2].nnz == 0 and batch[3].sum() == len(hasher.ngrams("naïve café ✈ ok"))
