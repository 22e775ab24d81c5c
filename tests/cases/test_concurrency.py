"""Many writers on one case against the real PostgreSQL server: no change is ever lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.cases.authority import Role
from pipeline.cases.contracts import NoteRequest
from pipeline.cases.service import CaseService
from pipeline.errors import VersionConflictError
from tests.cases.helpers import new_complaint, users

WRITERS, NOTES_EACH = 16, 6


pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def pg_service(database_url, settings):
    """Real time, not the test clock: the writers race for real."""
    service = CaseService.from_settings(settings, url=database_url)
    yield service
    service.engine.dispose()


def test_racing_writers_with_retries_lose_nothing(pg_service):
    agent = users(pg_service)[Role.agent]
    case_id = new_complaint(pg_service, agent)
    conflicts = []

    def writer(w: int) -> None:
        for n in range(NOTES_EACH):
            while True:
                version = pg_service.get_case(case_id).version
                try:
                    pg_service.add_note(agent, case_id, NoteRequest(note=f"writer {w} note {n}", version=version))
                    break
                except VersionConflictError:
                    conflicts.append(w)  # someone else landed first: reload and apply again

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))
    notes = {e.note for e in pg_service.events(case_id) if e.action == "note"}
    assert notes == {f"writer {w} note {n}" for w in range(WRITERS) for n in range(NOTES_EACH)}
    assert pg_service.get_case(case_id).version == 2 + WRITERS * NOTES_EACH
    assert conflicts, "the race never happened: the test did not exercise concurrency"
    assert pg_service.verify(case_id).intact


def test_writers_holding_the_same_version_get_exactly_one_success(pg_service):
    agent = users(pg_service)[Role.agent]
    case_id = new_complaint(pg_service, agent)
    version = pg_service.get_case(case_id).version

    def attempt(w: int) -> bool:
        try:
            pg_service.add_note(agent, case_id, NoteRequest(note=f"writer {w}", version=version))
            return True
        except VersionConflictError:
            return False

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(attempt, range(WRITERS)))
    assert results.count(True) == 1
    assert [e.action for e in pg_service.events(case_id)].count("note") == 1


def test_unversioned_writers_are_serialised_not_lost(pg_service):
    """Without a version the service still applies every change once, in some order, with a whole chain."""
    agent = users(pg_service)[Role.agent]
    case_id = new_complaint(pg_service, agent)
    landed = []

    def attempt(w: int) -> None:
        for _ in range(20):
            try:
                pg_service.add_note(agent, case_id, NoteRequest(note=f"writer {w}"))
                landed.append(w)
                return
            except VersionConflictError:
                continue

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(attempt, range(WRITERS)))
    notes = [e.note for e in pg_service.events(case_id) if e.action == "note"]
    assert sorted(notes) == sorted(f"writer {w}" for w in landed) and len(landed) == WRITERS
    assert pg_service.verify(case_id).intact

