"""Load benchmark of the case REST API on loopback: throughput and p50/p99 latency per operation.

Method. Each run gets a fresh store (a throwaway PostgreSQL database, dropped afterwards, or a
SQLite file in a temporary directory), seeded through the service with `seed_cases` complaints at
`received` and one `agent` user. The API runs as `earlywarn serve` runs it, uvicorn with one worker,
in its own process on 127.0.0.1 (without the deadline sweeper, which a short run would not see
fire). The load is open-loop: request i is due at start + i/rate and is
sent then whether or not earlier ones have answered, and its latency runs from that due time, so
time spent queueing behind a slow server counts (no coordinated omission). The mix is 40% list
(`GET /cases?limit=50`), 40% read (`GET /cases/{id}`) and 20% transition, walking each seeded case
through acknowledge → confirm_details → investigate → record_findings; a small window of cases is
worked in turn, so a case's next step is due long after its last one, and a step waits for its
predecessor should the server fall that far behind. A short warm-up runs first and is not recorded.
Any non-2xx answer or transport failure is an error, counted by status and kept out of latencies.

The load generator shares the machine's cores with the server (and PostgreSQL), so the figures
are a floor for what the API does on a machine of its own. The report says what each side spent:
CPU per request of the server and of the generator, and how late the generator got to its own
schedule (`generator_lag`), so that a generator that fell behind is told from a slow API.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import psutil
import uvloop
from sqlalchemy.engine import URL, make_url

from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate
from pipeline.cases.lifecycle import Stage
from pipeline.config import Settings
from pipeline.schema import Channel

MIX = {"list": 0.4, "read": 0.4, "transition": 0.2}
WARMUP_S = 2.0
WINDOW = 16  # cases worked in turn: at 40 transitions/s a case's next step is due 0.4 s after its last
STEPS: tuple[dict[str, str], ...] = (
    {"action": "acknowledge"},
    {"action": "confirm_details", "note": "Details confirmed with the customer (benchmark)."},
    {"action": "investigate"},
    {"action": "record_findings", "outcome": "justified", "evidence": "Benchmark evidence."},
)
USERNAME = "bench-agent"
# In-flight requests (and pooled connections). Ample: at 200/s and 5 ms a request about one is in
# flight; a server that falls behind makes requests queue at the gate, and that time is counted.
MAX_CONNECTIONS = 16
KEEPALIVE_S = 2.0  # under uvicorn's 5 s, so the server never closes a connection the client is reusing
SERVER_START_S = 60.0


@dataclass(frozen=True)
class Planned:
    """One planned request; `after` is the index of the transition it must follow on the same case."""

    op: str
    method: str
    path: str
    body: dict[str, str] | None = None
    after: int | None = None


# --- the store --------------------------------------------------------------------------------------


@contextmanager
def fresh_store(database_url: str) -> Iterator[str]:
    """Yield the URL of an empty store of the same kind, and remove it afterwards.

    PostgreSQL: a throwaway database on the same server (the one named in the URL is only used to
    connect). SQLite: a file in a temporary directory, whatever path the URL names.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="earlywarn-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'cases.db'}"
        return
    name = f"earlywarn_bench_{secrets.token_hex(6)}"
    _pg_admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(url: URL, statement: str) -> None:
    """CREATE/DROP DATABASE cannot run in a transaction, hence a bare autocommit connection."""
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]  # the name is ours: hex, quoted


def seed(url: str, cases: int) -> tuple[str, list[int]]:
    """Migrate, add one agent and `cases` received complaints through the service (no HTTP: fast).

    Returns the agent's token and the case ids. Summaries are synthetic: no customer data.
    """
    from pipeline.cases.service import CaseService

    service = CaseService.from_settings(Settings(), url=url)
    try:
        token = service.add_user(USERNAME, Role.agent)
        actor = service.actor(USERNAME)
        ids = [service.create_case(actor, CaseCreate(summary=f"Benchmark complaint {i}", channel=Channel.chat,
                                                     stage=Stage.received)).id
               for i in range(cases)]
    finally:
        service.engine.dispose()
    return token, ids


# --- the server -------------------------------------------------------------------------------------


EARLYWARN = "from pipeline.cli import main; main()"  # `earlywarn`, with this interpreter


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@contextmanager
def api_server(url: str, workers: int = 1) -> Iterator[Server]:
    """Run `earlywarn serve` on the store in its own process(es) until the block ends."""
    port = _free_port()
    env = {**os.environ, "EARLYWARN_DATABASE_URL": url, "EARLYWARN_CASES_SWEEP_SECONDS": "0"}
    command = [sys.executable, "-c", EARLYWARN, "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API server exited with code {process.returncode} before answering "
                               "/health")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API server did not answer {base}/health within {SERVER_START_S:.0f} s")


# --- the plan ---------------------------------------------------------------------------------------


def plan(count: int, ids: list[int], rng: random.Random) -> list[Planned]:
    """`count` requests in the fixed mix; transitions walk a window of cases through their steps."""
    ops = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
    needed = _cases_needed(ops.count("transition"))
    if needed > len(ids):
        raise ValueError(f"{ops.count('transition')} transitions need {needed} seeded cases, only {len(ids)} "
                         f"given: raise seed_cases or lower rate * seconds")
    requests: list[Planned] = []
    last_step: dict[int, int] = {}  # case id -> index of its latest planned transition
    transitions = 0
    for index, op in enumerate(ops):
        if op == "list":
            requests.append(Planned(op, "GET", "/cases?limit=50"))
        elif op == "read":
            requests.append(Planned(op, "GET", f"/cases/{rng.choice(ids)}"))
        else:
            case, step = _walk(transitions, ids)
            path = f"/cases/{case}/transitions"
            requests.append(Planned(op, "POST", path, STEPS[step], last_step.get(case)))
            last_step[case] = index
            transitions += 1
    return requests


def _walk(j: int, ids: list[int]) -> tuple[int, int]:
    """The j-th transition: WINDOW cases take step 0 in turn, then step 1, ..., then the next WINDOW."""
    block, within = divmod(j, WINDOW * len(STEPS))
    step, offset = divmod(within, WINDOW)
    return ids[block * WINDOW + offset], step


def _cases_needed(transitions: int) -> int:
    return -(-transitions // (WINDOW * len(STEPS))) * WINDOW


# --- the load ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    op: str
    latency_s: float
    lag_s: float  # how late the generator got to it: large means the generator, not the API, fell behind
    status: int | str  # an HTTP status, or the transport error's name
    recorded: bool


async def _send(client: aiohttp.ClientSession, gate: asyncio.Semaphore, request: Planned, due: float,
                recorded: bool, waits: asyncio.Event | None, done: asyncio.Event | None) -> Outcome:
    """Send one request; latency is counted from when it was due, not from when it went out.

    The gate bounds requests in flight to the pooled connections; time waiting at it still counts
    as latency. The client is aiohttp (C parser) rather than httpx: on two shared cores, every
    millisecond the generator spends is one the server under test does not get.
    """
    lag = time.perf_counter() - due
    try:
        if waits is not None:
            await waits.wait()
        async with gate, client.request(request.method, request.path, json=request.body) as response:
            await response.read()
            status: int | str = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        status = type(exc).__name__
    finally:
        if done is not None:
            done.set()
    return Outcome(request.op, time.perf_counter() - due, lag, status, recorded)


async def _drive(base: str, token: str, requests: list[Planned], rate: float, warmup: int,
                 progress: Callable[[int, int], None] | None) -> tuple[list[Outcome], float]:
    """Open loop: fire request i at start + i/rate, never waiting for answers; return outcomes and span."""
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_S)
    headers = {"Authorization": f"Bearer {token}"}
    events = {i: asyncio.Event() for i, r in enumerate(requests) if r.op == "transition"}
    total = len(requests) - warmup
    gate = asyncio.Semaphore(MAX_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector, timeout=timeout) as client:
        tasks = []
        start = time.perf_counter() + 0.05
        for i, request in enumerate(requests):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            waits = events[request.after] if request.after is not None else None
            send = _send(client, gate, request, due, i >= warmup, waits, events.get(i))
            tasks.append(asyncio.create_task(send))
            if progress is not None and i >= warmup and (i - warmup) % max(1, int(rate)) == 0:
                progress(i - warmup, total)
        outcomes = await asyncio.gather(*tasks)
        finished = time.perf_counter()
    if progress is not None:
        progress(total, total)
    return list(outcomes), finished - (start + warmup / rate)


# --- the report -------------------------------------------------------------------------------------


def _latencies(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ms = np.asarray(values) * 1000.0
    p50, p99 = np.percentile(ms, [50, 99])
    return {"count": len(values), "p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2),
            "max_ms": round(float(ms.max()), 2)}


def _succeeded(outcome: Outcome) -> bool:
    return isinstance(outcome.status, int) and 200 <= outcome.status < 300


def report(outcomes: list[Outcome], span_s: float) -> dict[str, Any]:
    """Per-operation and overall latency of the successful recorded requests; errors by status."""
    recorded = [o for o in outcomes if o.recorded]
    ok = [o for o in recorded if _succeeded(o)]
    errors = Counter(str(o.status) for o in recorded if not _succeeded(o))
    overall = _latencies([o.latency_s for o in ok])
    return {
        "requests": len(recorded),
        "achieved_rate": round(len(recorded) / span_s, 1),
        "errors": sum(errors.values()),
        "errors_by_status": dict(sorted(errors.items())),
        "operations": {op: _latencies([o.latency_s for o in ok if o.op == op]) for op in MIX},
        "overall": {"p50_ms": overall["p50_ms"], "p99_ms": overall["p99_ms"], "max_ms": overall["max_ms"]},
        "generator_lag": {k: v for k, v in _latencies([o.lag_s for o in recorded]).items() if k != "count"},
    }


def bench_cases(
    database_url: str,
    rate: float = 200.0,
    seconds: float = 30.0,
    seed_cases: int = 1500,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Seed a fresh store, serve it, drive it open-loop at `rate` requests/s for `seconds`; a JSON report.

    Besides latencies it reports the CPU each side spent per request (warm-up included): one worker
    cannot sustain more than about 1000 / server-ms requests/s, whatever the database does.
    """
    backend = make_url(database_url).get_backend_name()
    warmup, measured = int(rate * WARMUP_S), int(rate * seconds)
    with fresh_store(database_url) as url:
        token, ids = seed(url, seed_cases)
        requests = plan(warmup + measured, ids, random.Random(13))
        with api_server(url, workers) as server:
            server_before, own_before = _cpu_seconds(server.pid), time.process_time()
            outcomes, span = uvloop.run(_drive(server.base, token, requests, rate, warmup, progress))
            server_after, own_cpu = _cpu_seconds(server.pid), time.process_time() - own_before
    server_cpu = server_after - server_before
    return {
        "database": backend,
        "target_rate": rate,
        "duration_s": float(seconds),
        **report(outcomes, span),
        "cpu_ms_per_request": {
            "server": round(server_cpu / len(requests) * 1000, 2),
            "load_generator": round(own_cpu / len(requests) * 1000, 2),
        },
        "server": f"earlywarn serve (uvicorn, {workers} worker{'s' if workers > 1 else ''}), {server.base}",
        "host_speed_ms": host_speed_ms(),
        "load": {"mix": MIX, "warmup_s": WARMUP_S, "seed_cases": seed_cases, "open_loop": True,
                 "max_connections": MAX_CONNECTIONS, "cpu_count": os.cpu_count()},
    }


def host_speed_ms() -> float:
    """A fixed pure-Python loop, timed: a shared host's speed drifts, and this says how it stood."""
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return round((time.perf_counter() - started) * 1000, 1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its worker processes."""
    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
