"""`python manage.py dms VERB ...`: the console's command line (verbs are listed by --help)."""

from __future__ import annotations

from typing import Any

from django.core.management import BaseCommand, CommandError

from dmsconsole.cli import verbs


class Command(BaseCommand):
    help = "Run a DMS verb, e.g. create-user, worker, create-replication-instance, describe-endpoints."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs")
        sub.required = True
        for name, cls in verbs().items():
            verb_parser = sub.add_parser(name, help=cls.help, description=cls.help)
            cls().add_arguments(verb_parser)

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        cls = verbs().get(verb)
        if cls is None:  # argparse refuses unknown verbs already; call_command may not
            raise CommandError(f"Unknown verb {verb!r}: use one of {', '.join(verbs())}.")
        cls().run(self, **options)
