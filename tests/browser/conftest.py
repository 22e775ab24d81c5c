"""Browser tests drive Debian's chromium through Playwright; without either they are skipped, loudly."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
_missing: list[str] = []


def _require_browser() -> None:
    reason = None
    if shutil.which(str(CHROMIUM)) is None:
        reason = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Playwright is missing: `pip install playwright==1.65.2`"
    if reason:
        _missing.append(reason)
        pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")


@dataclass
class LiveServer:
    url: str
    cases: object


@contextmanager
def _serve(app, cases) -> Iterator[LiveServer]:
    """`app` under uvicorn on a free port, in a thread of this process."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 10 s"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", cases)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(tmp_path: Path, settings) -> Iterator[LiveServer]:
    """The real app on a fresh SQLite file."""
    _require_browser()
    from pipeline.api.app import create_app
    from pipeline.cases.service import CaseService

    cases = CaseService.from_settings(settings, url=f"sqlite:///{tmp_path / 'browser.db'}")
    with _serve(create_app(cases, session_secret="browser-test"), cases) as live:
        yield live
    cases.engine.dispose()


@pytest.fixture
def live_pipeline(stages) -> Iterator[LiveServer]:
    """The real app with `POST /ingest` feeding the stream in its process: the session's real models."""
    _require_browser()
    from pipeline.api.app import InlineStream, create_app
    from pipeline.api.ingest import Ingest
    from pipeline.ingest.sources.queue import QueueSource
    from pipeline.ingest.validate import Validator
    from pipeline.stream.runner import StreamRunner

    source = QueueSource(1000)
    app = create_app(stages.cases, ingest=Ingest(Validator(), stages.dead_letters, source),
                     stream=InlineStream(StreamRunner(stages), source), session_secret="browser-test")
    with _serve(app, stages.cases) as live:
        yield live


@pytest.fixture
def browser_page(live_server: LiveServer):
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            browser.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    for reason in dict.fromkeys(_missing):
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"  {reason}", red=True)
