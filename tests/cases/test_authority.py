"""Role limits from configuration; refusals name the role that may act."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.cases.authority import DEFAULT_POLICY, AuthorityPolicy, Capability, Role
from pipeline.errors import AuthorityError, ConfigError

POLICY = AuthorityPolicy.load()


def test_every_role_is_configured_and_ranked():
    assert set(POLICY.roles) == set(Role)
    assert POLICY.limits(Role.agent).rank < POLICY.limits(Role.team_leader).rank < POLICY.limits(Role.senior_manager).rank


def test_redress_over_the_limit_names_the_most_junior_role_that_may_offer_it():
    POLICY.require_redress(Role.agent, Decimal("50"), "offer redress")
    with pytest.raises(AuthorityError, match="ask a team leader"):
        POLICY.require_redress(Role.agent, Decimal("50.01"), "offer redress")
    with pytest.raises(AuthorityError, match="ask a senior manager"):
        POLICY.require_redress(Role.team_leader, Decimal("5000"), "offer redress")
    with pytest.raises(AuthorityError, match="no configured role"):
        POLICY.require_redress(Role.senior_manager, Decimal("20000"), "offer redress")


@pytest.mark.parametrize(
    ("capability", "junior", "who"),
    [(Capability.close_unjustified, Role.agent, "team leader"),
     (Capability.adapt_policy, Role.team_leader, "complaints specialist"),
     (Capability.refer_third_party, Role.agent, "complaints specialist")],
)
def test_capabilities_are_refused_with_who_can(capability, junior, who):
    with pytest.raises(AuthorityError, match=who):
        POLICY.require(junior, capability, "do it")


def test_analysts_only_read_and_admins_only_manage_users():
    assert POLICY.limits(Role.analyst).capabilities == {Capability.read}
    assert not POLICY.can(Role.admin, Capability.handle)
    assert POLICY.who_can(Capability.manage_users) is Role.admin


def test_a_policy_missing_a_role_is_refused_with_the_file_named(tmp_path: Path):
    text = DEFAULT_POLICY.read_text().replace("  analyst:\n    rank: 5\n    max_redress: 0\n    capabilities: [read]\n", "")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"policy\.yaml.*analyst"):
        AuthorityPolicy.load(path)
    path.write_text("roles: [")
    with pytest.raises(ConfigError, match="cannot read"):
        AuthorityPolicy.load(path)


def test_only_handling_roles_may_ingest_messages():
    assert {r for r in Role if POLICY.can(r, Capability.ingest)} == {
        Role.agent, Role.team_leader, Role.complaints_specialist, Role.senior_manager}
