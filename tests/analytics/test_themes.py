"""Theme discovery with the real MiniLM encoder, loaded once for the module."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pipeline.analytics.themes import SentenceEmbedder, Theme, ThemeReport, discover_themes

BAGGAGE = [
    "My suitcase never arrived at the airport, baggage claim says it is lost",
    "Lost luggage again! Two days and still no sign of my bag",
    "The airline lost my checked bag on the flight to Madrid",
    "Waited at the carousel for an hour and my luggage never came out",
    "Where is my baggage? I landed yesterday and the bag is still missing",
    "Your baggage desk at the airport has no idea where my suitcase is",
    "My bag was sent to the wrong airport and nobody will tell me when it comes back",
    "Still waiting for my delayed luggage to be delivered from the airport",
    "Checked two bags, only one arrived. The baggage tracing number shows nothing",
    "The suitcase came back from the flight damaged and half empty",
    "Lost baggage claim filed a week ago and no reply about my bag",
    "Arrived in Rome without my luggage, the airline says the bag is in Paris",
    "Why does it take five days to find a missing suitcase at the airport",
    "My luggage tag was scanned in London and then the bag vanished",
    "Baggage handlers lost my bag with all my medication in it",
    "No luggage, no clothes, no answers from the airport baggage office",
    "Third flight this year where my checked baggage did not arrive",
    "Please find my suitcase, it was on the flight from Dublin and never appeared on the belt",
    "The lost luggage hotline hangs up on me every time I ask about my bag",
    "My bag has been missing since my flight on Monday, baggage reference attached",
]
BROADBAND = [
    "My wifi has been down all day and I work from home",
    "Internet outage again in my area, the broadband keeps dropping",
    "The router shows a red light and there is no internet connection",
    "Broadband speed is terrible, 2 Mbps when I pay for 100",
    "No internet for three days, when will the outage be fixed",
    "Wifi keeps disconnecting every ten minutes, the router is useless",
    "Is there a broadband outage in Leeds? My connection is completely dead",
    "Paying for fibre broadband and the internet is slower than dial up",
    "The engineer never came to fix my internet connection",
    "My wifi signal drops whenever it rains, the broadband line is faulty",
    "Internet down again tonight, the router keeps rebooting",
    "Can't stream anything, the broadband connection keeps cutting out",
    "Whole street has had no internet since the outage yesterday",
    "Reset the router five times and still no wifi",
    "Your broadband service status page says no outage but my internet is dead",
    "Slow wifi and constant dropouts since you upgraded the network",
    "The internet connection fails every evening at peak time",
    "New router arrived and the wifi still does not connect",
    "Working from home is impossible with this broadband, it drops every hour",
    "Fourth day without internet, the outage fix keeps being pushed back",
]
REFUND = [
    "I returned the item three weeks ago and still no refund",
    "Where is my refund? You charged my card twice for the same order",
    "Cancelled my order and the money has not been refunded",
    "You promised a refund within five days, it has been a month",
    "Refund still not received after returning the faulty product",
    "I was charged for an order I cancelled, I want my money back",
    "Customer service said the refund was processed but nothing in my account",
    "Still waiting for the refund for my returned shoes",
    "Why has my refund not arrived? The return was delivered to you on the 3rd",
    "I was overcharged and told I would be refunded, still waiting for the money",
    "Refund request rejected for no reason, I returned the parcel on time",
    "My money back was promised two weeks ago and the refund never came",
    "You took payment for a cancelled booking and will not refund it",
    "The refund went to an old card, how do I get my money",
    "Charged the full price after cancelling, please refund me now",
    "Returned the jacket, got an email saying refund issued, but no money",
    "I have asked for my refund five times and keep getting excuses",
    "Double charged on my card and the refund has not appeared",
    "It has been 30 days since my return and still no refund",
    "Refund for my damaged order is still pending after three weeks",
]
THEME_WORDS = {
    "baggage": {"bag", "bags", "baggage", "luggage", "suitcase", "airport", "flight"},
    "broadband": {"wifi", "internet", "broadband", "router", "outage", "connection"},
    "refund": {"refund", "refunded", "money", "charged", "returned", "return"},
}


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder()


@pytest.fixture(scope="module")
def report(embedder: SentenceEmbedder) -> ThemeReport:
    return discover_themes(BAGGAGE + BROADBAND + REFUND, embedder=embedder)


def theme_of(text: str) -> str:
    return "baggage" if text in BAGGAGE else "broadband" if text in BROADBAND else "refund"


def test_three_clear_themes_are_found_pure_and_named(report: ThemeReport) -> None:
    texts = BAGGAGE + BROADBAND + REFUND
    assert report.reason is None and report.sampled_from is None
    assert report.texts == 60 and report.duplicates == 0
    assert 3 <= len(report.themes) <= 6, [t.name for t in report.themes]
    assert report.silhouette is not None and report.silhouette > 0
    assert [t.size for t in report.themes] == sorted((t.size for t in report.themes), reverse=True)
    assert [t.id for t in report.themes] == list(range(len(report.themes)))
    assert sum(t.share for t in report.themes) == pytest.approx(1.0, abs=1e-3)
    assert len(report.assignments) == 60 and set(report.assignments) == {t.id for t in report.themes}
    found = set()
    for theme in report.themes:
        kinds = Counter(theme_of(texts[i]) for i, a in enumerate(report.assignments) if a == theme.id)
        assert sum(kinds.values()) == theme.size
        majority, count = kinds.most_common(1)[0]
        assert count >= 0.9 * theme.size, (theme.name, kinds)
        assert set(theme.terms[:3]) & THEME_WORDS[majority], (majority, theme.terms)
        assert theme.name == " · ".join(theme.terms[:3])
        assert len(theme.examples) == 3 and all(theme_of(e) == majority for e in theme.examples)
        found.add(majority)
    assert found == {"baggage", "broadband", "refund"}


def test_paraphrases_embed_closer_than_unrelated_texts(embedder: SentenceEmbedder) -> None:
    vectors = embedder.encode([
        "I still have not received my refund",
        "My money back never arrived",
        "The wifi in my flat keeps dropping",
        "Where is my refund, it has been weeks",
    ])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(4), abs=1e-5)
    similar = vectors[0] @ vectors[1]
    assert similar > vectors[0] @ vectors[2] + 0.2
    assert vectors[0] @ vectors[3] > vectors[1] @ vectors[2]


def test_encoding_is_independent_of_batching_order_and_the_cache(embedder: SentenceEmbedder) -> None:
    texts = ["short", "a much longer message about my lost luggage at the airport", "wifi down", "wifi down"]
    embedder.clear_cache()
    together = embedder.encode(texts)
    embedder.clear_cache()
    alone = np.vstack([embedder.encode([t]) for t in texts])
    assert together == pytest.approx(alone, abs=1e-4)
    assert embedder.encode(texts[::-1]) == pytest.approx(together[::-1], abs=1e-4)  # from the cache now
    assert embedder.encode([]).shape == (0, 384)


def test_the_cache_keeps_only_the_latest_vectors(embedder: SentenceEmbedder) -> None:
    size = embedder.cache_size
    embedder.cache_size = 2
    try:
        embedder.clear_cache()
        embedder.encode(["first text", "second text", "third text"])
        assert len(embedder._cache) == 2
    finally:
        embedder.cache_size = size
        embedder.clear_cache()


def test_too_few_texts_give_an_empty_report_with_a_reason(embedder: SentenceEmbedder) -> None:
    report = discover_themes(BAGGAGE[:4] + ["", "   "], embedder=embedder)
    assert report.themes == () and report.texts == 4
    assert report.reason is not None and "4 distinct" in report.reason


def test_duplicates_are_counted_once(embedder: SentenceEmbedder, report: ThemeReport) -> None:
    texts = BAGGAGE + BROADBAND + REFUND
    repeated = texts + [t.upper() for t in REFUND[:10]] + ["  " + BAGGAGE[0] + "  "] * 5 + [""]
    again = discover_themes(repeated, embedder=embedder)
    assert again.texts == 60 and again.duplicates == 15
    assert [t.size for t in again.themes] == [t.size for t in report.themes]
    assert again.assignments[:60] == report.assignments
    assert again.assignments[60:70] == tuple(report.assignments[40:50])  # a repeat joins its original's theme
    assert again.assignments[-1] == -1  # a blank has none


def test_a_large_input_is_sampled_and_says_so(embedder: SentenceEmbedder) -> None:
    texts = BAGGAGE + BROADBAND + REFUND
    report = discover_themes(texts, embedder=embedder, max_texts=30, n_themes=3, seed=1)
    assert report.sampled_from == 60 and report.texts == 30
    assert sum(t.size for t in report.themes) == 30 and len(report.themes) == 3
    assert sum(a >= 0 for a in report.assignments) == 30  # the texts left out of the sample have no theme
    again = discover_themes(texts, embedder=embedder, max_texts=30, n_themes=3, seed=1)
    assert again == report  # the sample and the clustering are seeded


def test_a_fixed_number_of_themes_is_honoured_and_checked(embedder: SentenceEmbedder) -> None:
    texts = BAGGAGE + BROADBAND + REFUND
    two = discover_themes(texts, embedder=embedder, n_themes=2)
    assert len(two.themes) == 2 and all(isinstance(t, Theme) for t in two.themes)
    with pytest.raises(ValueError, match="only 60 distinct texts"):
        discover_themes(texts, embedder=embedder, n_themes=61)
    with pytest.raises(ValueError, match="n_themes is 0"):
        discover_themes(texts, embedder=embedder, n_themes=0)
