"""Endpoint verbs: create-endpoint, describe-endpoints, test-connection (AWS CLI names and options)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management import CommandError

from dmsconsole.cli import Verb, verb

from .forms import EndpointForm
from .models import Connection, Endpoint


def describe(endpoint: Endpoint) -> dict:
    """The DMS Endpoint shape; the password is never returned."""
    from tasks.arns import endpoint_arn

    return {
        "EndpointIdentifier": endpoint.identifier,
        "EndpointArn": endpoint_arn(endpoint),
        "EndpointType": endpoint.endpoint_type.upper(),
        "EngineName": endpoint.engine,
        "EngineDisplayName": endpoint.get_engine_display(),
        "Username": endpoint.username,
        "ServerName": endpoint.server_name,
        "Port": endpoint.port,
        "DatabaseName": endpoint.database_name,
        "ExtraConnectionAttributes": endpoint.extra_connection_attributes,
        "SslMode": endpoint.ssl_mode,
        "Status": "active",
    }


def describe_connection(connection: Connection) -> dict:
    return {
        "EndpointIdentifier": connection.endpoint.identifier,
        "ReplicationInstanceIdentifier": connection.instance.identifier,
        "Status": connection.status,
        "LastFailureMessage": connection.message if connection.status == Connection.FAILED else "",
        "ServerVersion": connection.server_version,
        "Warnings": connection.warning_list,
    }


@verb
class CreateEndpoint(Verb):
    name = "create-endpoint"
    help = "Create a source or target endpoint (the password is stored encrypted)."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint-identifier", required=True)
        parser.add_argument("--endpoint-type", required=True, choices=["source", "target"], type=str.lower)
        parser.add_argument("--engine-name", required=True)
        parser.add_argument("--server-name", required=True)
        parser.add_argument("--port", type=int)
        parser.add_argument("--database-name", default="")
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", default="")
        parser.add_argument("--ssl-mode", default="none")
        parser.add_argument("--certificate-file", help="PEM file of the CA (verify-ca, verify-full)")
        parser.add_argument("--extra-connection-attributes", default="")

    def run(self, command, **o):
        ca = Path(o["certificate_file"]).read_text() if o.get("certificate_file") else ""
        form = EndpointForm(data={
            "identifier": o["endpoint_identifier"], "endpoint_type": o["endpoint_type"], "engine": o["engine_name"],
            "server_name": o["server_name"], "port": o["port"] or "", "database_name": o["database_name"],
            "username": o["username"], "password": o["password"], "ssl_mode": o["ssl_mode"],
            "ca_certificate": ca, "extra_connection_attributes": o["extra_connection_attributes"],
        })
        if not form.is_valid():
            raise CommandError("; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items()))
        from .services import save_endpoint

        endpoint = save_endpoint(form, None)
        command.stdout.write(json.dumps({"Endpoint": describe(endpoint)}, indent=2))


@verb
class ModifyEndpoint(Verb):
    name = "modify-endpoint"
    help = "Change an endpoint's settings; options not given keep their value (the password too)."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint-identifier", required=True)
        for option in ("--server-name", "--database-name", "--username", "--password", "--ssl-mode",
                       "--extra-connection-attributes"):
            parser.add_argument(option)
        parser.add_argument("--port", type=int)

    def run(self, command, **o):
        endpoint = Endpoint.objects.filter(identifier__iexact=o["endpoint_identifier"]).first()
        if endpoint is None:
            raise CommandError(f"No endpoint {o['endpoint_identifier']!r}.")
        data = {name: getattr(endpoint, name) for name in EndpointForm.Meta.fields}
        for option, name in (("server_name", "server_name"), ("database_name", "database_name"),
                             ("username", "username"), ("ssl_mode", "ssl_mode"), ("port", "port"),
                             ("extra_connection_attributes", "extra_connection_attributes")):
            if o.get(option) is not None:
                data[name] = o[option]
        data["password"] = o.get("password") or ""
        form = EndpointForm(data=data, instance=endpoint)
        if not form.is_valid():
            raise CommandError("; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items()))
        from .services import save_endpoint

        command.stdout.write(json.dumps({"Endpoint": describe(save_endpoint(form, None))}, indent=2))


@verb
class DescribeEndpoints(Verb):
    name = "describe-endpoints"
    help = "List endpoints as JSON (never with their passwords)."

    def run(self, command, **options):
        command.stdout.write(json.dumps({"Endpoints": [describe(e) for e in Endpoint.objects.all()]}, indent=2))


@verb
class TestConnection(Verb):
    name = "test-connection"
    help = "Test an endpoint from a replication instance (a worker of it runs the test) and wait for the result."

    def add_arguments(self, parser):
        # The AWS CLI's --endpoint-arn / --replication-instance-arn take an ARN or the identifier.
        parser.add_argument("--endpoint-arn", "--endpoint-identifier", dest="endpoint_identifier", required=True)
        parser.add_argument("--replication-instance-arn", "--replication-instance-identifier",
                            dest="replication_instance_identifier", required=True)
        parser.add_argument("--no-wait", action="store_true", help="return at once with status testing")

    def run(self, command, *, endpoint_identifier, replication_instance_identifier, no_wait, **options):
        from tasks.arns import ArnError, split_arn
        from tasks.models import ReplicationInstance

        from .services import refresh_connection, start_connection_test

        try:
            endpoint_identifier = split_arn(endpoint_identifier, "endpoint")[1]
            replication_instance_identifier = split_arn(replication_instance_identifier, "rep")[1]
        except ArnError as exc:
            raise CommandError(str(exc)) from None
        endpoint = Endpoint.objects.filter(identifier__iexact=endpoint_identifier).first()
        instance = ReplicationInstance.objects.filter(identifier=replication_instance_identifier.lower()).first()
        if endpoint is None:
            raise CommandError(f"No endpoint {endpoint_identifier!r}.")
        if instance is None:
            raise CommandError(f"No replication instance {replication_instance_identifier!r}.")
        connection = start_connection_test(endpoint, instance, None)
        while not no_wait and connection.status == Connection.TESTING:
            time.sleep(0.5)
            connection = refresh_connection(connection)
        command.stdout.write(json.dumps({"Connection": describe_connection(connection)}, indent=2))
        if connection.status == Connection.FAILED:
            raise CommandError(connection.message)
