"""Match the lexicon's token patterns with one regular expression per cue label.

Why not spaCy's Matcher: its set and regex predicates ("NORM": {"IN": [...]}) are evaluated in
Python for every token and pattern, which measured ~200 µs per tweet per label here, ten times
the budget. Instead each doc's NORMs are joined once into a string,

    "i am not cancelling my contract\x1f. "

(a space where the text has whitespace after a token, "\x1f" where the next token is glued on),
and each label's rules become one compiled regular expression whose slots consume exactly one
token each. Python's C regex engine then does the scanning; matches map back to token indices,
so cue offsets still come from spaCy tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.tokens import Doc

from pipeline.signals.lexicon import GLUED_SPECS, TOKEN_SPECS, WORD_SETS

SPACE = " "  # the token is followed by whitespace in the text
GLUE = "\x1f"  # the next token follows immediately ("#" + "not"); a whitespace character to \s
_ANY_SEPARATOR = "[ \x1f]"
_OPERATORS = frozenset("?*+")
_CACHE_KEY = "earlywarn_token_text"


@dataclass(frozen=True)
class TokenText:
    """A doc's NORMs as one string, where each token starts in it, and the doc's own text."""

    norm_text: str
    token_at: dict[int, int]  # offset of a token's first character in `norm_text` -> token index
    norms: tuple[str, ...]
    text: str  # == doc.text, built in the same pass (doc.text re-joins every token on each call)


def token_text(doc: Doc) -> TokenText:
    """Build the doc's TokenText once; every cue component reuses it from doc.user_data."""
    cached = doc.user_data.get(_CACHE_KEY)
    if cached is not None:
        return cached
    norms, pieces, texts = [], [SPACE], []
    token_at = {}
    offset = len(SPACE)
    for i, token in enumerate(doc):
        norm = "_" if token.is_space else token.norm_
        whitespace = token.whitespace_
        piece = norm + (SPACE if whitespace else GLUE)
        token_at[offset] = i
        offset += len(piece)
        norms.append(norm)
        pieces.append(piece)
        texts.append(token.text + whitespace)
    token_at[offset] = len(doc)
    built = TokenText("".join(pieces), token_at, tuple(norms), "".join(texts))
    doc.user_data[_CACHE_KEY] = built
    return built


@dataclass(frozen=True)
class CompiledRules:
    """One label's rules as a single regex with a named group per rule."""

    regex: re.Pattern[str]

    def finditer(self, doc: Doc) -> Iterator[tuple[int, int, int]]:
        """(rule index, start token, end token) for each leftmost, non-overlapping match."""
        tokens = token_text(doc)
        for match in self.regex.finditer(tokens.norm_text):
            # A match runs from the separator before its first token to the one after its last.
            start = tokens.token_at[match.start() + 1]
            end = tokens.token_at[match.end() + 1]
            yield int(match.lastgroup[1:]), start, end  # type: ignore[index]


def compile_rules(specs_per_rule: Sequence[Sequence[str]]) -> CompiledRules:
    """Rule i's specs become group `r{i}`; at one position the first rule listed that matches wins.

    Every match starts with the separator before its first token, so the regex engine only tries
    positions found by a fast scan for separator characters.
    """
    groups = "|".join(
        f"(?P<r{i}>{'|'.join(compile_spec(spec) for spec in specs)})" for i, specs in enumerate(specs_per_rule)
    )
    return CompiledRules(re.compile(f"{_ANY_SEPARATOR}(?:{groups})(?={_ANY_SEPARATOR})"))


def compile_spec(spec: str) -> str:
    """'speak|talk to {DET}? {ROLE}' -> a regex over NORMs, without the leading separator.

    Slots before the first required one carry the separator after them, later slots the one
    before them, so optional slots at either end never leave a dangling separator.
    """
    slots = [_parse_slot(slot) for slot in spec.split()]
    required = [i for i, (_, operator, _) in enumerate(slots) if operator in ("", "+")]
    if not required:
        raise ValueError(f"cue pattern {spec!r} has no required slot")
    if slots[-1][2]:
        raise ValueError(f"cue pattern {spec!r} ends with a glued token")
    first = required[0]
    parts = []
    for i, (token, operator, glued) in enumerate(slots):
        if i < first:
            parts.append(f"(?:(?:{token}){GLUE if glued else _ANY_SEPARATOR}){operator}")
        elif i == first:
            parts.append(f"(?:{token})" if operator != "+" else f"(?:{token})(?:{_separator_after(glued)}(?:{token}))*")
        else:
            before = _separator_after(slots[i - 1][2])
            parts.append(f"(?:{before}(?:{token})){operator}")
    return "".join(parts)


def _separator_after(glued: bool) -> str:
    return GLUE if glued else _ANY_SEPARATOR


def _parse_slot(slot: str) -> tuple[str, str, bool]:
    """(token regex, operator, glued) for one slot of the notation."""
    operator = ""
    if len(slot) > 1 and slot[-1] in _OPERATORS:
        slot, operator = slot[:-1], slot[-1]
    if slot.startswith("<") and slot.endswith(">") and len(slot) > 2:
        name = slot[1:-1]
        return TOKEN_SPECS[name], operator, name in GLUED_SPECS
    return word_regex(_expand_words(slot)), operator, False
def _expand_words(slot: str) -> set[str]:
    """'a|{SET}|b' -> the literal words plus every word of WORD_SETS['SET']."""
    words: set[str] = set()
    for part in slot.split("|"):
        if part.startswith("{") and part.endswith("}"):
            words |= WORD_SETS[part[1:-1]]
        elif part:
            words.add(part)
        else:
            raise ValueError(f"empty alternative in pattern slot {slot!r}")
    return words


def word_regex(words: Iterable[str]) -> str:
    """A regex matching exactly these words, as a character trie: {"manager", "managers", "man"}
    -> "man(?:ager(?:s)?)?". The engine rejects a non-matching token after a character or two
    instead of trying every word in turn, which is most of the matching time."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_to_regex(trie)


def _trie_to_regex(node: dict[str, Any]) -> str:
    ends_here = "" in node
    branches = [re.escape(char) + _trie_to_regex(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return f"(?:{body})?"
    return body
