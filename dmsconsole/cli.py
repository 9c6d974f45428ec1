"""The `dms` command's verbs, in the manner of the AWS CLI (`aws dms <verb>`).

A verb is a small class registered with `@verb`. Each app keeps its verbs in a
`verbs.py` module, found by autodiscovery, so adding `describe-endpoints` or
`start-replication-task` means adding a class in that app and nothing else:

    @verb
    class DescribeEndpoints(Verb):
        name = "describe-endpoints"
        help = "List endpoints as JSON."

        def add_arguments(self, parser): ...
        def run(self, command, **options): command.stdout.write(...)

Verbs raise django.core.management.CommandError for a failure the user can fix.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.module_loading import autodiscover_modules

if TYPE_CHECKING:
    from django.core.management import BaseCommand

_VERBS: dict[str, type[Verb]] = {}


class Verb:
    name: ClassVar[str]
    help: ClassVar[str] = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional
        pass

    def run(self, command: BaseCommand, **options: Any) -> None:
        raise NotImplementedError


def verb(cls: type[Verb]) -> type[Verb]:
    """Register a verb under its name (a second class with the same name is a programming error)."""
    existing = _VERBS.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise RuntimeError(f"dms verb {cls.name!r} is defined twice: {existing!r} and {cls!r}")
    _VERBS[cls.name] = cls
    return cls


def verbs() -> dict[str, type[Verb]]:
    autodiscover_modules("verbs")
    return dict(sorted(_VERBS.items()))
