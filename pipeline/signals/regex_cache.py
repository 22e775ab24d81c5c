"""Compile the rules' very large regular expressions once per machine, not once per process.

Why: the vulnerability rules expand to about 12 MB of regex (vulnerability_patterns.yaml's macros
and alternatives, one pattern per variant), and Python's `re` parses a pattern in pure Python: 45 s
on two cores here, 90 s on a slower host, paid by every stream worker, benchmark process and CLI
call at start-up. This module does what `re.compile` does, then writes the compiled program (the
engine's code words) to the cache directory, keyed by the pattern, the flags and the interpreter's
regex engine. The next process hands that program straight to the engine's constructor, which
validates it, and skips the parse: a fraction of a second. The regex object is the one `re.compile`
would have built from the same steps, so every match is the same.

`re._parser`, `re._compiler` and `_sre.compile` are CPython internals (3.11 and 3.12 here). Where
they are missing, or a cached file is unreadable or rejected by the engine, the pattern is compiled
afresh with `re.compile` and the reason logged.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

#: Patterns shorter than this compile in milliseconds; caching them would only add files.
MIN_CACHED_CHARS = 20_000
#: A cached program nobody has loaded for this long is deleted when the next one is written.
STALE_AFTER_S = 30 * 24 * 3600
_FORMAT = 1
_SUFFIX = ".sre"

try:
    import _sre
    from re import _compiler, _parser

    _ENGINE: str | None = f"{sys.implementation.cache_tag}-sre{_sre.MAGIC}-code{_sre.CODESIZE}"
    if array.array("I").itemsize != _sre.CODESIZE:
        _ENGINE = None
except (ImportError, AttributeError):  # another interpreter: no cache, plain re.compile
    _ENGINE = None


class _Program(NamedTuple):
    """What `re._compiler.compile` hands `_sre.compile`, less the pattern itself."""

    flags: int
    code: list[int]
    groups: int
    groupindex: dict[str, int]
    indexgroup: tuple[str | None, ...]


def compile_large(pattern: str, flags: int = 0, cache_dir: Path | None = None) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, from the cache directory when this pattern was compiled before."""
    if len(pattern) < MIN_CACHED_CHARS or _ENGINE is None:
        return re.compile(pattern, flags)
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    digest = hashlib.sha256(f"{_ENGINE}\0{flags}\0{pattern}".encode()).hexdigest()
    path = folder / f"{digest}{_SUFFIX}"
    try:
        return _build(pattern, _load(path, digest))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, RuntimeError) as exc:  # torn, foreign or rejected by the engine
        log.warning("regex cache %s is unusable (%s): compiling the pattern afresh", path.name, exc)
    started = time.perf_counter()
    program = _compile(pattern, flags)
    compiled = _build(pattern, program)
    try:
        _save(path, digest, program)
    except OSError as exc:
        log.warning("cannot write the regex cache in %s (%s): the next process compiles again", folder, exc)
    else:
        log.info("compiled a %d-character rule regex in %.1f s; cached in %s", len(pattern),
                 time.perf_counter() - started, folder)
        _prune(folder, keep=path)
    return compiled


def default_cache_dir() -> Path:
    from pipeline.config import get_settings

    return get_settings().cache_dir / "regex"


def _compile(pattern: str, flags: int) -> _Program:
    """The steps of `re._compiler.compile`, keeping the program it builds."""
    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return _Program(flags | parsed.state.flags, code, parsed.state.groups - 1, groupindex, tuple(indexgroup))


def _build(pattern: str, program: _Program) -> re.Pattern[str]:
    return _sre.compile(pattern, program.flags, program.code, program.groups, program.groupindex,
                        program.indexgroup)


def _save(path: Path, digest: str, program: _Program) -> None:
    """Header line (JSON), then the code words; written beside the target and renamed into place, so a
    process reading at the same time sees the old file or the whole new one."""
    header = {"format": _FORMAT, "digest": digest, "flags": program.flags, "groups": program.groups,
              "groupindex": program.groupindex, "indexgroup": program.indexgroup, "words": len(program.code)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(json.dumps(header).encode() + b"\n")
            out.write(array.array("I", program.code).tobytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path, digest: str) -> _Program:
    with path.open("rb") as source:
        header: dict[str, Any] = json.loads(source.readline())
        if header.get("format") != _FORMAT or header.get("digest") != digest:
            raise ValueError(f"written for another pattern or format ({header.get('format')})")
        words = array.array("I")
        words.frombytes(source.read())
    if len(words) != header["words"]:
        raise ValueError(f"{len(words)} code words where the header says {header['words']}")
    with contextlib.suppress(OSError):  # a read-only cache (baked into an image) is still a good cache
        os.utime(path)  # in use: the pruning below leaves it alone
    return _Program(header["flags"], words.tolist(), header["groups"], header["groupindex"],
                    tuple(header["indexgroup"]))


def _prune(folder: Path, keep: Path) -> None:
    """Programs of rules since edited are never loaded again; delete those unused for a month."""
    cutoff = time.time() - STALE_AFTER_S
    for old in folder.glob(f"*{_SUFFIX}"):
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue
