"""Roles and the limits of their authority, read from configuration.

NOS: "take personal responsibility ... within the limits of your authority" and "agree a solution
that adapts current policies and procedures within your own authority". An action over a role's
limit is refused with the name of the role that may take it, so a handler knows whom to ask.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import AuthorityError, ConfigError

DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")


class Capability(StrEnum):
    read = "read"
    handle = "handle"  # work a case through the ordinary stages
    close_unjustified = "close_unjustified"
    adapt_policy = "adapt_policy"  # only with a written justification, which is recorded
    refer_third_party = "refer_third_party"  # ombudsman / ADR referral
    reopen = "reopen"
    manage_users = "manage_users"
    view_vulnerability = "view_vulnerability"  # special-category data (FG21/1): the markers and their evidence
    ingest = "ingest"  # send messages to POST /ingest, which open and extend any customer's case


class Role(StrEnum):
    agent = "agent"
    team_leader = "team_leader"
    complaints_specialist = "complaints_specialist"
    senior_manager = "senior_manager"
    analyst = "analyst"
    admin = "admin"


class RoleLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: int = Field(description="seniority; refusals name the most junior role that may act")
    max_redress: Decimal = Field(ge=0, description="the most redress this role may offer or agree")
    capabilities: frozenset[Capability]


class AuthorityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "GBP"
    roles: dict[Role, RoleLimits]
    root_causes: tuple[str, ...] = Field(min_length=1, description="categories a closed case is filed under")

    @classmethod
    def load(cls, path: Path | None = None) -> AuthorityPolicy:
        path = path or DEFAULT_POLICY
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            policy = cls.model_validate(raw)
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise ConfigError(path, f"cannot read the roles and authority policy: {exc}") from exc
        missing = set(Role) - set(policy.roles)
        if missing:
            raise ConfigError(path, f"roles missing from the policy: {', '.join(sorted(missing))}")
        return policy

    def limits(self, role: Role) -> RoleLimits:
        return self.roles[role]

    def can(self, role: Role, capability: Capability) -> bool:
        return capability in self.roles[role].capabilities

    def who_can(self, capability: Capability) -> Role | None:
        able = [r for r, lim in self.roles.items() if capability in lim.capabilities]
        return min(able, key=lambda r: self.roles[r].rank) if able else None

    def require(self, role: Role, capability: Capability, doing: str) -> None:
        if not self.can(role, capability):
            raise AuthorityError(role.value, doing, self._suggest(self.who_can(capability)))

    def require_redress(self, role: Role, amount: Decimal, doing: str) -> None:
        if amount <= self.roles[role].max_redress:
            return
        able = [r for r, lim in self.roles.items() if lim.max_redress >= amount and Capability.handle in lim.capabilities]
        who = min(able, key=lambda r: self.roles[r].rank) if able else None
        limit = f"{self.roles[role].max_redress} {self.currency}"
        raise AuthorityError(role.value, f"{doing} of {amount} {self.currency} (limit {limit})", self._suggest(who))

    @staticmethod
    def _suggest(role: Role | None) -> str:
        return f"ask a {role.value.replace('_', ' ')}" if role else "no configured role may do this"
