"""The three roles, as Django groups, and the checks views use to enforce them.

Viewer reads everything but secrets; Operator also starts, stops, resumes,
restarts and reloads tasks; Administrator also creates, modifies and deletes
endpoints, instances and tasks. Superusers count as Administrators.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

VIEWER = "Viewer"
OPERATOR = "Operator"
ADMINISTRATOR = "Administrator"
ROLE_NAMES = (VIEWER, OPERATOR, ADMINISTRATOR)


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMINISTRATOR = 3


_BY_GROUP = {VIEWER: Role.VIEWER, OPERATOR: Role.OPERATOR, ADMINISTRATOR: Role.ADMINISTRATOR}


def role_of(user: Any) -> Role:
    if not getattr(user, "is_authenticated", False):
        return Role.NONE
    if user.is_superuser:
        return Role.ADMINISTRATOR
    cached = getattr(user, "_dms_role", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = max((_BY_GROUP[n] for n in names if n in _BY_GROUP), default=Role.NONE)
        user._dms_role = cached
    return cached


def can_operate(user: Any) -> bool:
    return role_of(user) >= Role.OPERATOR


def can_administer(user: Any) -> bool:
    return role_of(user) >= Role.ADMINISTRATOR


def role_context(request: Any) -> dict[str, Any]:
    role = role_of(request.user)
    return {
        "dms_role": role.name.title() if role else "",
        "can_operate": role >= Role.OPERATOR,
        "can_administer": role >= Role.ADMINISTRATOR,
    }
