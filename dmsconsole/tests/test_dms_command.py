"""The `dms` command: a dispatcher of verbs, and the user verbs."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from dmsconsole import cli
from dmsconsole.models import AuditEntry
from dmsconsole.roles import Role, role_of

pytestmark = pytest.mark.django_db


def _dms(*args: str) -> str:
    out = io.StringIO()
    call_command("dms", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_user_with_a_role_and_prints_a_generated_password():
    out = _dms("create-user", "olga", "--role", "operator")
    password = re.search(r"Password \(shown once\): (\S+)", out).group(1)
    user = get_user_model().objects.get(username="olga")
    assert user.check_password(password)
    assert role_of(user) == Role.OPERATOR
    assert AuditEntry.objects.filter(action="user.create", target="user olga", ip=None).exists()


def test_it_uses_the_given_password_and_does_not_print_it():
    out = _dms("create-user", "vera", "--role", "Viewer", "--password", "a-long-enough-passphrase")
    assert "a-long-enough-passphrase" not in out and "shown once" not in out
    user = get_user_model().objects.get(username="vera")
    assert user.check_password("a-long-enough-passphrase")
    assert role_of(user) == Role.VIEWER


def test_it_refuses_a_weak_password_an_unknown_role_and_a_duplicate():
    with pytest.raises(CommandError, match="Password refused"):
        _dms("create-user", "wes", "--role", "viewer", "--password", "123")
    with pytest.raises(CommandError):
        _dms("create-user", "wes", "--role", "superhero")
    _dms("create-user", "adam", "--role", "administrator")
    with pytest.raises(CommandError, match="already exists"):
        _dms("create-user", "ADAM", "--role", "viewer")


def test_it_sets_a_new_password():
    _dms("create-user", "ana", "--role", "administrator")
    out = _dms("set-password", "ana")
    password = re.search(r"Password \(shown once\): (\S+)", out).group(1)
    assert get_user_model().objects.get(username="ana").check_password(password)


def test_it_lets_other_apps_add_verbs():
    names = set(cli.verbs())
    assert {"create-user", "set-password", "worker", "create-replication-instance",
            "describe-replication-instances", "create-endpoint", "describe-endpoints"} <= names

    @cli.verb
    class Hello(cli.Verb):
        name = "hello-probe"
        help = "test verb"

        def add_arguments(self, parser):
            parser.add_argument("--who", default="world")

        def run(self, command, *, who, **options):
            command.stdout.write(f"hello {who}")

    try:
        assert _dms("hello-probe", "--who", "dms").strip() == "hello dms"
    finally:
        cli._VERBS.pop("hello-probe")


def test_it_creates_and_describes_replication_instances():
    out = _dms("create-replication-instance", "--replication-instance-identifier", "CLI-Instance",
               "--allocated-storage", "20")
    assert json.loads(out)["ReplicationInstance"]["ReplicationInstanceIdentifier"] == "cli-instance"
    described = json.loads(_dms("describe-replication-instances"))["ReplicationInstances"]
    assert [(d["ReplicationInstanceIdentifier"], d["ReplicationInstanceStatus"], d["AllocatedStorage"])
            for d in described] == [("cli-instance", "unavailable", 20)]
    with pytest.raises(CommandError, match="two hyphens"):
        _dms("create-replication-instance", "--replication-instance-identifier", "bad--name")


def test_it_refuses_a_worker_for_an_unknown_instance():
    with pytest.raises(CommandError, match="No replication instance 'nope'"):
        _dms("worker", "--instance", "nope")


def test_it_creates_and_describes_endpoints_without_their_password():
    _dms("create-endpoint", "--endpoint-identifier", "cli-src", "--endpoint-type", "source", "--engine-name",
         "postgres", "--server-name", "127.0.0.1", "--username", "postgres", "--password", "cli-secret")
    out = _dms("describe-endpoints")
    [described] = json.loads(out)["Endpoints"]
    assert (described["EndpointIdentifier"], described["Port"], described["EndpointType"]) == ("cli-src", 5432,
                                                                                              "SOURCE")
    assert "cli-secret" not in out
    with pytest.raises(CommandError, match="unknown attribute 'nope'"):
        _dms("create-endpoint", "--endpoint-identifier", "cli-bad", "--endpoint-type", "target", "--engine-name",
             "postgres", "--server-name", "h", "--username", "u", "--extra-connection-attributes", "nope=1")


def test_it_creates_the_instance_of_a_worker_when_asked(monkeypatch):
    from dmsconsole.celery import app

    started = []
    monkeypatch.setattr(app, "worker_main", lambda argv: started.append(argv))  # not the worker itself: its argv
    out = _dms("worker", "--instance", "Deploy-Instance", "--create", "--pool", "solo")
    assert "Created replication instance deploy-instance." in out
    [argv] = started
    assert argv[:3] == ["worker", "-Q", "dms.instance.deploy-instance"] and "solo" in argv
