"""The fetch script: its URL table, checksum checks, downloads (file:// and loopback) and subsets.

No test reaches the network: downloads read `file://` URLs or a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT, get_settings
from pipeline.datasets import fetch
from pipeline.errors import DownloadError
from pipeline.datasets.fetch import (
    RELEASES,
    HeadBytes,
    HeadRows,
    download,
    fetch_release,
    sha256_of,
    verify_dir,
    verify_file,
)
from pipeline.errors import ChecksumMismatchError, DataNotFoundError

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def data_dir() -> Path:
    root = get_settings().data_dir
    if not (root / "goemotions" / "labels.txt").is_file():
        pytest.skip(f"the public data releases are not at {root}")
    return root


def release(dest: str) -> fetch.Release:
    return next(r for r in RELEASES if r.dest == dest)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on the loopback interface."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- the table ---------------------------------------------------------------------------------


def test_table_is_well_formed() -> None:
    dests = [r.dest for r in RELEASES]
    assert len(dests) == len(set(dests))
    for r in RELEASES:
        assert r.dest and not r.dest.startswith("/") and ".." not in r.dest
        assert r.url.startswith("https://raw.githubusercontent.com/") and " " not in r.url
        assert r.licence.strip()
        assert r.sha256 is None or SHA256.match(r.sha256)
        if r.sha256 is None:
            assert "subset" in r.note  # says why it cannot be checked
    assert "X-CI%20Dataset.csv" in release("complaint-tweets/X-CI_Dataset.csv").url


def test_table_matches_the_shared_layout(data_dir: Path) -> None:
    shared = {p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*") if p.is_file()}
    assert shared - {"README.md"} == {r.dest for r in RELEASES}


def test_documented_subset_steps() -> None:
    assert release("twcs-head/twcs_head5000.csv").subset == HeadRows(5000)
    assert release("cfpb-sample/complaints_head1MB.csv").subset == HeadBytes(1 << 20)
    assert release("complaint-tweets/complaints-data.csv").sha256 is None


# --- verification ------------------------------------------------------------------------------


def test_real_files_verify(data_dir: Path) -> None:
    results = verify_dir(data_dir)
    assert {r.status for r in results} <= {"ok", "unchecked"}
    assert sum(r.status == "ok" for r in results) == sum(r.sha256 is not None for r in RELEASES)


def test_tampered_copy_fails(data_dir: Path, tmp_path: Path) -> None:
    entry = release("goemotions/labels.txt")
    copy = tmp_path / entry.dest
    copy.parent.mkdir(parents=True)
    copy.write_bytes((data_dir / entry.dest).read_bytes().replace(b"anger", b"angst"))
    with pytest.raises(ChecksumMismatchError, match=re.escape(str(copy))):
        verify_file(copy, entry.sha256)
    statuses = {r.release.dest: r.status for r in verify_dir(tmp_path)}
    assert statuses[entry.dest] == "mismatch" and statuses["uss/MWOZ.txt"] == "missing"


def test_missing_file_raises_data_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        verify_file(tmp_path / "nothing.csv", "0" * 64)


# --- downloads ---------------------------------------------------------------------------------


def test_download_from_file_url(data_dir: Path, tmp_path: Path) -> None:
    entry = release("banking77/categories.json")
    out = download((data_dir / entry.dest).as_uri(), tmp_path / "x" / "categories.json")
    verify_file(out, entry.sha256)
    assert not list(out.parent.glob("*.part"))


def test_fetch_release_over_loopback_http(data_dir: Path, tmp_path: Path, http_root) -> None:
    served, base = http_root
    entry = release("goemotions/labels.txt")
    (served / "labels.txt").write_bytes((data_dir / entry.dest).read_bytes())
    local = dataclasses.replace(entry, url=f"{base}/labels.txt")
    dest = tmp_path / "dest"
    assert fetch_release(local, dest) == "downloaded"
    assert sha256_of(dest / entry.dest) == entry.sha256
    assert fetch_release(local, dest) == "present"  # a good copy is not fetched again


def test_corrupt_download_raises_and_leaves_nothing(data_dir: Path, tmp_path: Path, http_root) -> None:
    served, base = http_root
    entry = release("goemotions/labels.txt")
    (served / "labels.txt").write_bytes(b"not the labels\n")
    with pytest.raises(ChecksumMismatchError):
        fetch_release(dataclasses.replace(entry, url=f"{base}/labels.txt"), tmp_path / "dest")
    assert not (tmp_path / "dest" / "goemotions").exists() or not any((tmp_path / "dest" / "goemotions").iterdir())


def test_unreachable_url_raises_download_error(tmp_path: Path, http_root) -> None:
    _, base = http_root
    with pytest.raises(DownloadError, match="could not download"):
        download(f"{base}/missing.csv", tmp_path / "missing.csv")
    assert not list(tmp_path.glob("missing.csv*"))


# --- subset steps ------------------------------------------------------------------------------


def test_head_rows_counts_logical_rows(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text('a,b,c\n1,"quoted\nnewline",x\n2,broken\n\nrow,y\n3,z,w\n4,q,r\n', encoding="utf-8")
    HeadRows(2).apply(src, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == 'a,b,c\n1,"quoted\nnewline",x\n2,broken\n\nrow,y\n'


def test_head_rows_reproduces_the_twcs_head(data_dir: Path, tmp_path: Path) -> None:
    entry = release("twcs-head/twcs_head5000.csv")
    upstream = tmp_path / "twcs.csv"
    shared = (data_dir / entry.dest).read_bytes()
    upstream.write_bytes(shared + b'5000,9999,123,True,Tue Oct 31 22:10:47 +0000 2017,"more",,\n')
    dest = tmp_path / "dest"
    assert fetch_release(dataclasses.replace(entry, url=upstream.as_uri()), dest) == "downloaded"
    assert (dest / entry.dest).read_bytes() == shared


def test_head_bytes_reproduces_the_cfpb_head(data_dir: Path, tmp_path: Path) -> None:
    entry = release("cfpb-sample/complaints_head1MB.csv")
    upstream = tmp_path / "complaints.csv"
    upstream.write_bytes((data_dir / entry.dest).read_bytes() + b"the rest of the export\n" * 100)
    dest = tmp_path / "dest"
    fetch_release(dataclasses.replace(entry, url=upstream.as_uri()), dest)
    assert sha256_of(dest / entry.dest) == entry.sha256


# --- command line ------------------------------------------------------------------------------


def test_cli_verify(data_dir: Path, tmp_path: Path) -> None:
    assert fetch.main(["--verify", str(data_dir)]) == 0
    assert fetch.main(["--verify", str(tmp_path), "--only", "uss/*"]) == 1


def test_cli_fetch_with_local_table(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    local = tuple(
        dataclasses.replace(r, url=(data_dir / r.dest).as_uri()) for r in RELEASES if r.dest.startswith("banking77/")
    )
    monkeypatch.setattr(fetch, "RELEASES", local)
    assert fetch.main(["--dest", str(tmp_path)]) == 0
    assert {r.status for r in verify_dir(tmp_path, local)} == {"ok"}


def test_script_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "fetch_data.py"), "--list", "--only", "uss/*"],
        capture_output=True, text=True, timeout=60, cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "uss/MWOZ.txt" in done.stdout and "raw.githubusercontent.com" in done.stdout
