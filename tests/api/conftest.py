"""The case API in-process, with one user per role, for the API test modules."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.cases.authority import Role


@pytest.fixture
def api(case_service):
    tokens = {role: case_service.add_user(role.value, role) for role in Role}
    with TestClient(create_app(case_service)) as client:
        client.tokens = tokens
        yield client


def auth(api, role: Role = Role.agent) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[role]}"}
