import numpy as np

from pipeline.scoring.char_ngrams import CharNgramHasher


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
