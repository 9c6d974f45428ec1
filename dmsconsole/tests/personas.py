"""Shared personas: one signed-in test client per role, for every app's tests.

    from dmsconsole.tests import personas
    client = personas.client_for("operator")
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

ROLES = ("viewer", "operator", "administrator")
PASSWORD = "correct-horse-battery-staple"


def make_user(role: str | None, username: str | None = None):
    """A user holding `role` (None: signed-in but without any role)."""
    User = get_user_model()
    user = User.objects.create_user(username or f"{role or 'norole'}-{uuid.uuid4().hex[:6]}", password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role.title())[0])  # flushed by transactional tests
    return user


def client_for(role: str | None, **client_kwargs) -> Client:
    """A test client signed in as a fresh user of `role`; "anonymous" gives a client signed in as nobody."""
    client = Client(**client_kwargs)
    if role != "anonymous":
        client.force_login(make_user(role))
    return client
