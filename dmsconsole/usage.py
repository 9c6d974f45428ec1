"""What uses an object, so it cannot be deleted: a registry of "in use by" providers.

Other apps register a provider for a model; each provider returns sentences naming
the users ("task orders-full-load"). The delete views ask `in_use_by(obj)` and refuse
with those names. The ReplicationTask model registers here when it lands:

    from dmsconsole.usage import uses

    @uses("endpoints.Endpoint")
    def _tasks_using_endpoint(endpoint):
        for task in ReplicationTask.objects.filter(Q(source=endpoint) | Q(target=endpoint)):
            yield f"task {task.identifier}"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model

Provider = Callable[[Any], Iterable[str]]
_PROVIDERS: dict[str, list[Provider]] = {}


def uses(model_label: str) -> Callable[[Provider], Provider]:
    """Register a provider of users for objects of `model_label` ("app_label.ModelName")."""

    def register(provider: Provider) -> Provider:
        providers = _PROVIDERS.setdefault(model_label.lower(), [])
        if provider not in providers:
            providers.append(provider)
        return provider

    return register


def unregister(model_label: str, provider: Provider) -> None:
    providers = _PROVIDERS.get(model_label.lower(), [])
    if provider in providers:
        providers.remove(provider)


def in_use_by(obj: Model) -> list[str]:
    """Every user of `obj`, as short phrases; empty when it may be deleted."""
    label = obj._meta.label_lower
    found: list[str] = []
    for provider in list(_PROVIDERS.get(label, [])):
        found.extend(provider(obj))
    return found


class InUseError(Exception):
    def __init__(self, obj: Model, users: list[str]):
        self.users = users
        names = ", ".join(users)
        super().__init__(f"{obj} cannot be deleted: it is used by {names}.")
