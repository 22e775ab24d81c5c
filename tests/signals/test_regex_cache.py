"""The rules' large regexes compile once per machine and load as the very program `re.compile` builds."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pytest

from pipeline.signals import regex_cache
from pipeline.signals.regex_cache import MIN_CACHED_CHARS, STALE_AFTER_S, compile_large

WORDS = [f"w{i}x{i * 7 % 13}" for i in range(4000)]
#: A rule-shaped pattern: a separator, named groups of alternatives, a lookahead.
LARGE = "[ \x1f](?:" + "|".join(f"(?P<r{k}>{'|'.join(WORDS[k::4])})" for k in range(4)) + ")(?=[ \x1f])"
TEXT = " w3x8 zz w17x2\x1fw4000x0 w8x4 "


def _parse_refused(*_args, **_kwargs):
    raise AssertionError("the pattern was parsed again")


def test_a_large_pattern_compiles_once_then_loads_as_the_same_program(tmp_path: Path, monkeypatch) -> None:
    assert len(LARGE) >= MIN_CACHED_CHARS
    fresh = re.compile(LARGE)
    first = compile_large(LARGE, cache_dir=tmp_path)
    assert first == fresh  # Pattern equality compares the flags, the pattern and the compiled code
    assert len(list(tmp_path.glob("*.sre"))) == 1

    monkeypatch.setattr(regex_cache._parser, "parse", _parse_refused)
    again = compile_large(LARGE, cache_dir=tmp_path)
    assert again == fresh
    assert again.groupindex == fresh.groupindex
    assert [(m.span(), m.lastgroup) for m in again.finditer(TEXT)] == \
        [(m.span(), m.lastgroup) for m in fresh.finditer(TEXT)] == [((0, 5), "r3"), ((8, 14), "r1"), ((22, 27), "r0")]


def test_a_torn_cache_file_is_reported_and_replaced(tmp_path: Path, caplog) -> None:
    compile_large(LARGE, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("*.sre")
    cached.write_bytes(cached.read_bytes()[:-1000])
    with caplog.at_level(logging.WARNING, logger=regex_cache.__name__):
        rebuilt = compile_large(LARGE, cache_dir=tmp_path)
    assert rebuilt == re.compile(LARGE)
    assert "unusable" in caplog.text and "code words" in caplog.text
    assert compile_large(LARGE, cache_dir=tmp_path) == rebuilt  # rewritten whole


def test_small_patterns_are_not_cached(tmp_path: Path) -> None:
    assert compile_large("(?:my|our) (?:mum|dad)", cache_dir=tmp_path).search(" my dad ")
    assert not list(tmp_path.iterdir())


def test_programs_unused_for_a_month_are_pruned_when_another_is_written(tmp_path: Path) -> None:
    stale, recent = tmp_path / "stale.sre", tmp_path / "recent.sre"
    for path in (stale, recent):
        path.write_bytes(b"{}\n")
    old = time.time() - STALE_AFTER_S - 60
    os.utime(stale, (old, old))
    compile_large(LARGE, cache_dir=tmp_path)
    assert not stale.exists() and recent.exists()


def test_an_unwritable_cache_still_compiles(tmp_path: Path, caplog) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger=regex_cache.__name__):
        assert compile_large(LARGE, cache_dir=blocked / "regex") == re.compile(LARGE)
    assert "cannot write the regex cache" in caplog.text


@pytest.mark.parametrize("flags", [re.IGNORECASE, re.MULTILINE | re.DOTALL])
def test_flags_are_part_of_the_key(tmp_path: Path, flags: int) -> None:
    plain = compile_large(LARGE, cache_dir=tmp_path)
    flagged = compile_large(LARGE, flags, cache_dir=tmp_path)
    assert flagged == re.compile(LARGE, flags) and flagged != plain
    assert len(list(tmp_path.glob("*.sre"))) == 2


def test_a_cache_that_cannot_be_touched_is_still_read(tmp_path: Path, monkeypatch) -> None:
    """A read-only cache (baked into an image) refuses the access-time touch; the program still loads."""
    fresh = compile_large(LARGE, cache_dir=tmp_path)

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(regex_cache.os, "utime", refuse)
    monkeypatch.setattr(regex_cache._parser, "parse", _parse_refused)
    assert compile_large(LARGE, cache_dir=tmp_path) == fresh
