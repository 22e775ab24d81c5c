"""Download the public releases the loaders read, laid out as the shared data folder, and check them.

Users outside this workplace get the same files from their origins (raw GitHub URLs at the
commits in the data README). Where the shared copy is a documented head of an upstream file, the
same head is cut here; where it is an unmodified upstream file (or a head that can be cut again
byte for byte), its sha256 is in the table and checked after download. The complaint-tweet files
are the exception: the shared copies are an 80% stratified subset that cannot be recomputed, so
the full releases are fetched and not checksummed. `scripts/fetch_data.py` is the command line.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import quote

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pipeline.errors import ChecksumMismatchError, DataNotFoundError, DownloadError, EarlywarnError

from ._io import csv_records

_CHUNK = 1 << 16


class Subset(Protocol):
    def apply(self, src: Path, dst: Path) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class HeadRows:
    """The header and the first `n` CSV rows, copied byte for byte.

    Rows are counted as the loaders count them: quoted newlines stay inside a row, and a row
    split by unquoted newlines (one in twcs) is counted once, as `_io.csv_records` rejoins it.
    """

    n: int

    def apply(self, src: Path, dst: Path) -> None:
        with src.open(encoding="utf-8", newline="") as inp:
            width = len(next(csv_records([inp.readline()])).fields)
            inp.seek(0)
            with dst.open("w", encoding="utf-8", newline="") as out:
                count = -1  # the header is not a row
                for record in csv_records(inp, width=width):
                    if count >= self.n:
                        break
                    out.write(record.raw)
                    if record.fields:
                        count += 1

    def describe(self) -> str:
        return f"first {self.n:,} rows"


@dataclass(frozen=True)
class HeadBytes:
    """The first `n` bytes, as the CFPB sample was cut (its last record is left truncated)."""

    n: int

    def apply(self, src: Path, dst: Path) -> None:
        with src.open("rb") as inp, dst.open("wb") as out:
            out.write(inp.read(self.n))

    def describe(self) -> str:
        return f"first {self.n:,} bytes"


@dataclass(frozen=True)
class Release:
    """One file of the data folder: where it goes, where it comes from, and how to check it.

    `sha256` is the digest of the file as it lies in the data folder (after `subset`); None when
    the fetched file legitimately differs from the shared copy (see `note`).
    """

    dest: str
    url: str
    licence: str
    sha256: str | None
    subset: HeadRows | HeadBytes | None = None
    note: str = ""


def github_raw(repo: str, commit: str, path: str) -> str:
    """raw.githubusercontent.com URL of one file at one commit (path percent-encoded)."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{quote(path)}"


_CT = "danielpreotiuc/complaints-social-media", "54e3402"
_XCI = "appy1608/ACL2023", "b475e60"
_USS = "sunnweiwei/user-satisfaction-simulation", "8ba06bd"
_GOEM = "monologg/GoEmotions-pytorch", "b75f9d3"
_TWCS = "monalisapatra26/data_visualization", "40f0279"
_AIR = "asappresearch/dialog-intent-induction", "6396f31"
_B77 = "PolyAI-LDN/task-specific-datasets", "57ec275"
_CFPB = "aravindsriraj/Data-Science-Task---Consumer-Complaints", "1b2ab3cc3b2a58df6fd787dcffb1147df69ce2b2"
_NO_LICENCE = "no licence stated (research use)"
_CC_BY = "CC BY 4.0"
_CC_BY_NC_SA = "CC BY-NC-SA 4.0 (non-commercial)"
_SUBSET_NOTE = (
    "fetches the full release; the shared copy is an 80% subset stratified by domain and label, "
    "which this script cannot reproduce, so no checksum"
)

RELEASES: tuple[Release, ...] = (
    Release("complaint-tweets/complaints-data.csv", github_raw(*_CT, "complaints-data.csv"),
            "academic release, no licence stated", None, note=_SUBSET_NOTE),
    Release("complaint-tweets/X-CI_Dataset.csv", github_raw(*_XCI, "X-CI Dataset.csv"),
            "MIT", None, note=_SUBSET_NOTE + " (the shared copy keeps the same tweets)"),
    Release("uss/MWOZ.txt", github_raw(*_USS, "dataset/MWOZ.txt"), _NO_LICENCE,
            "32b654c702828bbcef0d9b7b63c096c1b464037a2c4f957cf3d7ec620c6170c8"),
    Release("uss/SGD.txt", github_raw(*_USS, "dataset/SGD.txt"), _NO_LICENCE,
            "f417e17e39221a396a041bd10bee4f3e221a5834d2e32dcc7f813adb25d3bf39"),
    Release("uss/ReDial.txt", github_raw(*_USS, "dataset/ReDial.txt"), _NO_LICENCE,
            "b875bc656ed2e7ca12dfd966e026b2393f86e6915e8fdaf1e287ac2eb1c1b0f2"),
    Release("uss/CCPE.txt", github_raw(*_USS, "dataset/CCPE.txt"), _NO_LICENCE,
            "ee6e268f85a7fd25acfa97cf1c5bb9b8c8e86f20dff096535dd46296a036bba9"),
    Release("uss/ReDial-action.txt", github_raw(*_USS, "dataset/ReDial-action.txt"), _NO_LICENCE,
            "80d57b5d9a370a2525f5d53054e694a03551ccd44d3fae3ef4e80228152491f0",
            note="unrated ReDial dialogue-act annotation; not used by the loaders"),
    Release("goemotions/train.tsv", github_raw(*_GOEM, "data/original/train.tsv"), _CC_BY,
            "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5"),
    Release("goemotions/dev.tsv", github_raw(*_GOEM, "data/original/dev.tsv"), _CC_BY,
            "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62"),
    Release("goemotions/test.tsv", github_raw(*_GOEM, "data/original/test.tsv"), _CC_BY,
            "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4"),
    Release("goemotions/labels.txt", github_raw(*_GOEM, "data/original/labels.txt"), _CC_BY,
            "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89"),
    Release("twcs-head/twcs_head5000.csv", github_raw(*_TWCS, "twcs.csv"), _CC_BY_NC_SA,
            "02fe3ab3a8d27030732b6f25ef369d577ddc329fc8087ef6b25199ad0211308f", HeadRows(5000),
            note="head of Kaggle 'Customer Support on Twitter'"),
    Release("twcs-airlines/airlines_raw.csv.bz2", github_raw(*_AIR, "data/airlines_raw.csv.bz2"),
            _CC_BY_NC_SA, "21389f7f397d9aa256afe9dc02975ef75c8578f8779d9852921923a3e852b607"),
    Release("twcs-airlines/airlines_500onlyb.csv.bz2", github_raw(*_AIR, "data/airlines_500onlyb.csv.bz2"),
            _CC_BY_NC_SA, "2acc9664c499372c3d096aac705d60afd6e2ca0eeb35578f31b2896f6dc50a04"),
    Release("banking77/train.csv", github_raw(*_B77, "banking_data/train.csv"), _CC_BY,
            "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b"),
    Release("banking77/test.csv", github_raw(*_B77, "banking_data/test.csv"), _CC_BY,
            "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d"),
    Release("banking77/categories.json", github_raw(*_B77, "banking_data/categories.json"), _CC_BY,
            "53261da888122daf2d120d925458631d9619e15d82e56052e7a42e535ce32b63"),
    Release("cfpb-sample/complaints_head1MB.csv", github_raw(*_CFPB, "complaints.csv"),
            "public domain (US government work)",
            "2346a291399b3e7fd2ed9e8716927185d48773c7c9fd265d47ede938a5d4bdad", HeadBytes(1 << 20),
            note="head of the CFPB export; its last line is truncated"),
)  # fmt: skip


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected: str, dataset: str | None = None) -> None:
    """Raise DataNotFoundError if `path` is missing, ChecksumMismatchError if its sha256 differs."""
    if not path.is_file():
        raise DataNotFoundError(path, dataset or path.name)
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ChecksumMismatchError(path, expected, actual)


def download(url: str, dest: Path, *, progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """Stream `url` (https, http or file) to `dest`, atomically: a failed download leaves nothing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
            length = response.headers.get("Content-Length")
            task = progress.add_task(dest.name, total=int(length) if length else None) if progress else None
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                if progress is not None and task is not None:
                    progress.advance(task, len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(url, getattr(exc, "reason", exc)) from exc
    os.replace(part, dest)
    return dest


Status = Literal["downloaded", "present"]


def fetch_release(
    release: Release, dest_root: Path, *, progress: Progress | None = None, force: bool = False
) -> Status:
    """Put one release file in place under `dest_root`: download, cut the subset, verify, move.

    A file already there is kept when it verifies (or has no checksum) unless `force`. On a
    checksum mismatch nothing is left at the destination and ChecksumMismatchError is raised.
    """
    target = dest_root / release.dest
    if target.is_file() and not force:
        if release.sha256 is None or sha256_of(target) == release.sha256:
            return "present"
    fetched = download(release.url, target.with_name(target.name + ".download"), progress=progress)
    staged = fetched
    try:
        if release.subset is not None:
            staged = target.with_name(target.name + ".subset")
            release.subset.apply(fetched, staged)
        if release.sha256 is not None:
            actual = sha256_of(staged)
            if actual != release.sha256:
                raise ChecksumMismatchError(target, release.sha256, actual)
        os.replace(staged, target)
    finally:
        for leftover in {fetched, staged}:
            leftover.unlink(missing_ok=True)
    return "downloaded"


def select(releases: Iterable[Release], patterns: Sequence[str] = ()) -> list[Release]:
    """Releases whose dest matches any glob in `patterns` (all when there are none)."""
    return [r for r in releases if not patterns or any(fnmatch.fnmatch(r.dest, p) for p in patterns)]


VerifyStatus = Literal["ok", "mismatch", "missing", "unchecked"]


@dataclass(frozen=True)
class VerifyResult:
    release: Release
    status: VerifyStatus
    detail: str = ""


def verify_dir(root: Path, releases: Iterable[Release] = RELEASES) -> list[VerifyResult]:
    """Check every release file under `root` against the table; never raises for a bad file."""
    results = []
    for release in releases:
        path = root / release.dest
        if not path.is_file():
            results.append(VerifyResult(release, "missing", str(path)))
        elif release.sha256 is None:
            results.append(VerifyResult(release, "unchecked", release.note))
        else:
            try:
                verify_file(path, release.sha256)
                results.append(VerifyResult(release, "ok"))
            except ChecksumMismatchError as exc:
                results.append(VerifyResult(release, "mismatch", str(exc)))
    return results


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fetch_data.py",
        description="Download the public data releases earlywarn trains on, laid out like ../shared/data.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dest", type=Path, metavar="DIR", help="download into DIR")
    mode.add_argument("--verify", type=Path, metavar="DIR", help="check the files in DIR against the table")
    mode.add_argument("--list", action="store_true", help="print the table (paths, URLs, licences)")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="limit to dest paths matching GLOB, e.g. 'uss/*' (repeatable)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="download even when a good copy is present")
    return parser


def _list(console: Console, releases: list[Release]) -> int:
    for r in releases:
        check = "sha256" if r.sha256 else "unchecked"
        subset = f", {r.subset.describe()}" if r.subset else ""
        console.print(f"[bold]{r.dest}[/]  ({r.licence}; {check}{subset})\n  {r.url}")
        if r.note:
            console.print(f"  note: {r.note}")
    return 0


def _verify(console: Console, root: Path, releases: list[Release]) -> int:
    results = verify_dir(root, releases)
    style = {"ok": "green", "unchecked": "yellow", "missing": "red", "mismatch": "red"}
    for res in results:
        console.print(f"[{style[res.status]}]{res.status:9}[/] {res.release.dest}  {res.detail}")
    bad = [r for r in results if r.status in ("missing", "mismatch")]
    console.print(f"{len(results) - len(bad)} of {len(results)} files fine; {len(bad)} missing or corrupt.")
    return 1 if bad else 0


def _fetch(console: Console, root: Path, releases: list[Release], force: bool) -> int:
    failures = 0
    with _progress(console) as progress:
        for release in releases:
            try:
                status = fetch_release(release, root, progress=progress, force=force)
            except EarlywarnError as exc:
                failures += 1
                progress.console.print(f"[red]failed[/] {release.dest}: {exc}")
                continue
            extra = f" ({release.subset.describe()})" if release.subset and status == "downloaded" else ""
            progress.console.print(f"[green]{status}[/] {release.dest}{extra}")
            if release.note and status == "downloaded":
                progress.console.print(f"  note: {release.note}")
    console.print("Licences differ (see `--list`); several releases are for non-commercial research only.")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    releases = select(RELEASES, args.only)
    if not releases:
        console.print(f"[red]no release matches {args.only}[/]; see --list")
        return 2
    if args.list:
        return _list(Console(soft_wrap=True), releases)
    if args.verify is not None:
        return _verify(console, args.verify, releases)
    return _fetch(console, args.dest, releases, args.force)


if __name__ == "__main__":
    sys.exit(main())
