"""Console verbs: users and their roles."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.db import transaction

from . import audit
from .cli import Verb, verb
from .roles import ROLE_NAMES

_ROLE_CHOICES = [name.lower() for name in ROLE_NAMES]


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _check_password(password: str, user: Any) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CommandError("Password refused: " + " ".join(exc.messages)) from None


def set_role(user: Any, role: str) -> None:
    """Give `user` exactly one of the three roles (their other role groups are removed)."""
    canonical = next(name for name in ROLE_NAMES if name.lower() == role.lower())
    wanted, _ = Group.objects.get_or_create(name=canonical)  # the migration creates them; a flushed test db may not
    user.groups.remove(*Group.objects.filter(name__in=ROLE_NAMES).exclude(pk=wanted.pk))
    user.groups.add(wanted)


@verb
class CreateUser(Verb):
    name = "create-user"
    help = "Create a console user with a role; prints a generated password when none is given."

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="NAME")
        parser.add_argument("--role", required=True, choices=_ROLE_CHOICES, type=str.lower)
        parser.add_argument("--password", help="the password (default: generate one and print it)")
        parser.add_argument("--email", default="")

    @transaction.atomic
    def run(self, command, *, username: str, role: str, password: str | None, email: str, **options):
        User = get_user_model()
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"User {username!r} already exists: use set-password to give it a new password.")
        user = User(username=username, email=email)
        generated = password is None
        if generated:
            password = generate_password()
        else:
            _check_password(password, user)
        user.set_password(password)
        user.save()
        set_role(user, role)
        audit.record(None, "user.create", f"user {username}", f"role {role.title()} (command line)")
        command.stdout.write(f"Created user {username} with role {role.title()}.")
        if generated:
            command.stdout.write(f"Password (shown once): {password}")


@verb
class SetPassword(Verb):
    name = "set-password"
    help = "Give an existing user a new password; prints a generated one when none is given."

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="NAME")
        parser.add_argument("--password", help="the new password (default: generate one and print it)")

    def run(self, command, *, username: str, password: str | None, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username__iexact=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        generated = password is None
        if generated:
            password = generate_password()
        else:
            _check_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(None, "user.set-password", f"user {user.username}", "command line")
        command.stdout.write(f"New password set for {user.username}.")
        if generated:
            command.stdout.write(f"Password (shown once): {password}")
