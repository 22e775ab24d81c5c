"""Form posts into the service's request types, and which lifecycle moves a user's role may be offered.

The service still decides every move; this only keeps forms from offering what it would refuse for
the role (a move's capability, and an escalated case's level), so refusals left are the ones that
depend on the payload, such as a redress over the role's limit, and those are shown on the page.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pipeline.cases.authority import AuthorityPolicy, Capability, Role
from pipeline.cases.contracts import Actor, CaseView
from pipeline.cases.lifecycle import Action, find_transition

OPTION_FLAGS = ("admits_liability", "adapts_policy")


class FormRefused(Exception):
    """A form over the workspace's bounds (files, fields, sizes): refused with a page that says why."""


def offered_actions(policy: AuthorityPolicy, actor: Actor, case: CaseView) -> list[Action]:
    """The case's allowed moves this actor's role may take; none for roles that may not work the case."""
    if not may_handle(policy, actor, case):
        return []
    role = Role(actor.role)
    return [a for a in case.allowed_actions if policy.can(role, find_transition(case.stage, a).capability)]


def may_handle(policy: AuthorityPolicy, actor: Actor, case: CaseView) -> bool:
    """Whether the role handles cases at all and, once the case is escalated, at that level or above
    (the service's own assignment check), so the page offers no form it would refuse."""
    if actor.role not in Role.__members__:
        return False
    role = Role(actor.role)
    if not policy.can(role, Capability.handle):
        return False
    assigned = Role(case.assigned_role) if case.assigned_role in Role.__members__ else None
    return assigned is None or policy.limits(role).rank >= policy.limits(assigned).rank


def fields_of(form: Any, model: type[BaseModel], checkboxes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form's non-empty values for `model`'s fields (pydantic then checks and converts them).

    Empty inputs are left out so an optional field stays unset; checkboxes are true when sent.
    """
    data: dict[str, Any] = {}
    for name in model.model_fields:
        if name in checkboxes:
            data[name] = name in form
            continue
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            data[name] = value
    return data


def validation_message(exc: Exception) -> str:
    """A pydantic error as one sentence naming the field and the fix, like the API's 422s."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    first = errors()[0] if errors() else {"loc": (), "msg": "invalid input"}
    field = ".".join(str(p) for p in first.get("loc", ())) or "form"
    return f"field '{field}': {first.get('msg')}. Fix that field and send the form again."
