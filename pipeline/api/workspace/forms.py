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


def offered_actions(policy: AuthorityPolicy, actor: Actor, case: CaseView) -> list[Action]:
    """The case's allowed moves this actor's role may take; none for roles that cannot handle cases."""
    try:
        role = Role(actor.role)
    except ValueError:
        return []
    assigned = Role(case.assigned_role) if case.assigned_role in Role.__members__ else None
    if not policy.can(role, Capability.handle):
        return []
    if assigned is not None and policy.limits(role).rank < policy.limits(assigned).rank:
        return []
    return [a for a in case.allowed_actions if policy.can(role, find_transition(case.stage, a).capability)]


def may_handle(policy: AuthorityPolicy, actor: Actor) -> bool:
    return actor.role in Role.__members__ and policy.can(Role(actor.role), Capability.handle)


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
