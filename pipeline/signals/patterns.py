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
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any, NamedTuple

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

from pipeline.signals.lexicon import GLUED_SPECS, TOKEN_SPECS, WORD_SETS
from pipeline.signals.regex_cache import compile_large

SPACE = " "  # the token is followed by whitespace in the text
GLUE = "\x1f"  # the next token follows immediately ("#" + "not"); a whitespace character to \s
_ANY_SEPARATOR = "[ \x1f]"
_OPERATORS = frozenset("?*+")
_CACHE_KEY = "earlywarn_token_text"


class TokenText(NamedTuple):
    """A doc's NORMs as one string, where each token starts in it, and the doc's own text.

    A NamedTuple of plain values, so a doc that carries it still serializes (DocBin, n_process).
    """

    norm_text: str
    starts: list[int]  # where each token starts in `norm_text`, then where the text ends
    norms: tuple[str, ...]
    text: str  # == doc.text, built in the same pass (doc.text re-joins every token on each call)

    def token_at(self, offset: int) -> int:
        """The index of the token starting at `offset` (len(doc) for the end)."""
        return bisect_left(self.starts, offset)


def token_text(doc: Doc) -> TokenText:
    """Build the doc's TokenText once; every cue component reuses it from doc.user_data."""
    cached = doc.user_data.get(_CACHE_KEY)
    if isinstance(cached, TokenText):
        return cached
    norms, pieces, texts = [], [SPACE], []
    for token in doc:
        norm = "_" if token.is_space else token.norm_
        norms.append(norm)
        pieces.append(norm + (SPACE if token.whitespace_ else GLUE))
        texts.append(token.text_with_ws)
    starts = list(accumulate([len(norm) + 1 for norm in norms], initial=len(SPACE)))
    built = TokenText("".join(pieces), starts, tuple(norms), "".join(texts))
    doc.user_data[_CACHE_KEY] = built
    return built


@dataclass(frozen=True)
class Slot:
    """One position of a pattern: a token regex, its operator, and the words it stands for."""

    regex: str
    operator: str  # "", "?", "*" or "+"
    glued: bool  # the token must touch the next one
    words: frozenset[str] | None  # None for a <token spec> regex

    @property
    def required(self) -> bool:
        return self.operator in ("", "+")


@dataclass(frozen=True)
class CompiledRules:
    """One label's rules as a single regex with a named group per rule.

    `anchor_words` / `anchor_regex`: every match contains a token with one of these words or
    matching that regex, so a doc with neither is skipped without scanning (most docs, most labels).
    """

    regex: re.Pattern[str]
    anchor_words: frozenset[str]
    anchor_regex: re.Pattern[str] | None

    def finditer(self, doc: Doc) -> Iterator[tuple[int, int, int]]:
        """(rule index, start token, end token) for each leftmost, non-overlapping match."""
        tokens = token_text(doc)
        if not self.might_match(tokens):
            return
        for match in self.regex.finditer(tokens.norm_text):
            # A match runs from the separator before its first token to the one after its last.
            start = tokens.token_at(match.start() + 1)
            end = tokens.token_at(match.end() + 1)
            yield int(match.lastgroup[1:]), start, end  # type: ignore[index]

    def might_match(self, tokens: TokenText) -> bool:
        if not self.anchor_words.isdisjoint(tokens.norms):
            return True
        return self.anchor_regex is not None and self.anchor_regex.search(tokens.norm_text) is not None


def compile_rules(specs_per_rule: Sequence[Sequence[str]]) -> CompiledRules:
    """Rule i's specs become group `r{i}`.

    At one position the first alternative that matches wins, so each rule's specs are tried
    longest first, and the rules in the order the lexicon lists them. Every match starts with
    the separator before its first token, so the engine only tries positions at separators.
    """
    anchor_words: set[str] = set()
    anchor_regexes: set[str] = set()
    groups = []
    for i, specs in enumerate(specs_per_rule):
        parsed = sorted((parse_spec(spec) for spec in specs), key=len, reverse=True)
        groups.append(f"(?P<r{i}>{_factored([_spec_parts(slots) for slots in parsed])})")
        for slots in parsed:
            anchor = _anchor(slots)
            if anchor.words is not None:
                anchor_words |= anchor.words
            else:
                anchor_regexes.add(anchor.regex)
    regex = compile_large(f"{_ANY_SEPARATOR}(?:{'|'.join(groups)})(?={_ANY_SEPARATOR})")
    anchor_regex = None
    if anchor_regexes:
        alternatives = "|".join(sorted(anchor_regexes))
        anchor_regex = re.compile(f"{_ANY_SEPARATOR}(?:{alternatives})(?={_ANY_SEPARATOR})")
    return CompiledRules(regex, frozenset(anchor_words), anchor_regex)


def compile_spec(spec: str) -> str:
    """'speak|talk to {DET}? {ROLE}' -> a regex over NORMs, without the leading separator."""
    return _spec_regex(parse_spec(spec))


def parse_spec(spec: str) -> list[Slot]:
    slots = [_parse_slot(slot) for slot in spec.split()]
    if not any(slot.required for slot in slots):
        raise ValueError(f"cue pattern {spec!r} has no required slot")
    if slots[-1].glued:
        raise ValueError(f"cue pattern {spec!r} ends with a glued token")
    return slots


class _Part(NamedTuple):
    """One slot's piece of a pattern's regex; `single` when it matches exactly one token, one way."""

    regex: str
    single: bool
    slot: Slot


def _spec_regex(slots: list[Slot]) -> str:
    return "".join(part.regex for part in _spec_parts(slots))


def _spec_parts(slots: list[Slot]) -> list[_Part]:
    """Slots before the first required one carry the separator after them, later slots the one
    before them, so optional slots at either end never leave a dangling separator."""
    first = next(i for i, slot in enumerate(slots) if slot.required)
    parts = []
    for i, slot in enumerate(slots):
        token = f"(?:{slot.regex})"
        if i < first:
            parts.append(_Part(f"(?:{token}{_separator_after(slot.glued)}){slot.operator}", False, slot))
        elif i == first and slot.operator == "+":
            parts.append(_Part(f"{token}(?:{_separator_after(slot.glued)}{token})*", False, slot))
        elif i == first:
            parts.append(_Part(token, True, slot))
        else:
            parts.append(_Part(f"(?:{_separator_after(slots[i - 1].glued)}{token}){slot.operator}",
                               slot.operator == "", slot))
    return parts


def _factored(patterns: list[list[_Part]]) -> str:
    """The patterns' alternation, with neighbours that begin with the same single-token piece sharing
    it: "my (?:sick|ill)" rather than "my sick|my ill". A rule expanded from macros runs to thousands
    of patterns, and the engine tried each in turn at every token; now a token that starts none of
    them is rejected once. Only neighbours are merged, and only on pieces that match one token one
    way, so the engine tries the same patterns in the same order and every match is what it was."""
    alternatives = []
    i = 0
    while i < len(patterns):
        head = patterns[i][0] if patterns[i] else None
        j = i + 1
        if head is not None and head.single:
            while j < len(patterns) and patterns[j] and patterns[j][0] == head:
                j += 1
        if head is not None and j - i > 1:
            rests = [p[1:] for p in patterns[i:j]]
            alternatives.append(head.regex + _next_token_guard(rests) + _factored(rests))
        else:
            alternatives.append("".join(part.regex for part in patterns[i]))
        i = j
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _next_token_guard(rests: list[list[_Part]]) -> str:
    """A lookahead on the one token that must come next if any of these pattern tails is to match:
    one of the words of their slots up to each tail's first required one. It consumes nothing, so
    it changes no match; it only spares the engine trying every tail after a shared head ("my")
    that is followed by none of them. Empty when some tail may match nothing."""
    words: set[str] = set()
    regexes: set[str] = set()
    for rest in rests:
        required = next((k for k, part in enumerate(rest) if part.slot.required), None)
        if required is None:
            return ""
        for part in rest[: required + 1]:
            if part.slot.words is None:
                regexes.add(part.slot.regex)
            else:
                words |= part.slot.words
    tokens = ([word_regex(words)] if words else []) + sorted(regexes)
    return f"(?={_ANY_SEPARATOR}(?:{'|'.join(tokens)}){_ANY_SEPARATOR})"


def _anchor(slots: list[Slot]) -> Slot:
    """The required slot that rules out the most docs: the word set with the fewest common words
    ("manager" says more than "a|the|your"), then the smallest share of them, then the fewest
    words; a regex only when the pattern has no word slot, and then the last one (the first
    letter of a masked word is common, the mask is not)."""
    required = [slot for slot in slots if slot.required]
    with_words = [slot for slot in required if slot.words]
    if with_words:
        return min(with_words, key=_commonness)
    return required[-1]


def _commonness(slot: Slot) -> tuple[int, float, int]:
    words = slot.words or frozenset()
    common = len(STOP_WORDS & words)
    return common, common / len(words), len(words)


def _separator_after(glued: bool) -> str:
    return GLUE if glued else _ANY_SEPARATOR


@cache
def _parse_slot(slot: str) -> Slot:
    """Cached: macro expansion repeats the same slot across thousands of a rule's patterns."""
    operator = ""
    if len(slot) > 1 and slot[-1] in _OPERATORS:
        slot, operator = slot[:-1], slot[-1]
    if slot.startswith("<") and slot.endswith(">") and len(slot) > 2:
        name = slot[1:-1]
        return Slot(TOKEN_SPECS[name], operator, name in GLUED_SPECS, None)
    words = _expand_words(slot)
    return Slot(word_regex(words), operator, False, frozenset(words))


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
    return _word_regex(frozenset(words))


@cache
def _word_regex(words: frozenset[str]) -> str:
    """Cached: the guards of a macro-expanded rule ask for the same word sets thousands of times."""
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
