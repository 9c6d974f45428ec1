"""Endpoints (where data comes from or goes to) and Test connection results per replication instance."""

from __future__ import annotations

from types import MappingProxyType

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from dmsconsole.identifiers import validate_identifier

from . import crypto
from .engines.conninfo import SSL_MODES, ConnectionInfo, parse_extra_connection_attributes
from .engines.registry import ENGINES

IDENTIFIER_MAX = 255
ENGINE_CHOICES = [(spec.name, spec.label) for spec in ENGINES.values()]
SSL_MODE_CHOICES = [(mode, mode) for mode in SSL_MODES]


def _validate_endpoint_identifier(value: str) -> None:
    validate_identifier(value, IDENTIFIER_MAX)


def accepted_attributes(engine: str) -> dict[str, str] | None:
    """The extra connection attributes `engine` accepts, or None when its module cannot be loaded here."""
    from .engines.registry import get_engine

    try:
        return dict(get_engine(engine).extra_attributes)
    except Exception:  # not yet supported, or its driver/module is not installed on this console
        return None


class Endpoint(models.Model):
    SOURCE = "source"
    TARGET = "target"
    TYPE_CHOICES = [(SOURCE, "Source"), (TARGET, "Target")]

    identifier = models.CharField(
        "endpoint identifier", max_length=IDENTIFIER_MAX, unique=True, validators=[_validate_endpoint_identifier])
    endpoint_type = models.CharField(max_length=6, choices=TYPE_CHOICES)
    engine = models.CharField(max_length=20, choices=ENGINE_CHOICES)
    server_name = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    database_name = models.CharField(max_length=255, blank=True)
    username = models.CharField("user name", max_length=255)
    # Fernet token, never the password itself (see crypto.py). Never rendered, never logged.
    password_encrypted = models.TextField(blank=True, editable=False)
    ssl_mode = models.CharField("SSL mode", max_length=12, choices=SSL_MODE_CHOICES, default="none")
    ca_certificate = models.TextField("CA certificate", blank=True)
    extra_connection_attributes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]
        constraints = [
            models.UniqueConstraint(Lower("identifier"), name="endpoint_identifier_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.identifier

    # -- the password -------------------------------------------------------------------------
    def set_password(self, plaintext: str) -> None:
        self.password_encrypted = crypto.encrypt(plaintext)

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    def decrypted_password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    # -- for the engines ----------------------------------------------------------------------
    def extra_attributes(self) -> dict[str, str]:
        text = self.extra_connection_attributes
        allowed = accepted_attributes(self.engine)
        if allowed is None:  # the engine cannot be loaded here: keep the keys as written
            allowed = {p.partition("=")[0].strip(): "" for p in text.split(";") if p.strip()}
        return parse_extra_connection_attributes(text, allowed)

    def connection_info(self) -> ConnectionInfo:
        """Everything the engine needs to connect, with the password decrypted (keep it in memory only)."""
        return ConnectionInfo(
            engine=self.engine,
            host=self.server_name,
            port=self.port,
            database=self.database_name,
            username=self.username,
            password=self.decrypted_password(),
            ssl_mode=self.ssl_mode,
            extra=MappingProxyType(self.extra_attributes()),
            ca_certificate=self.ca_certificate,
        )


class Connection(models.Model):
    """The last Test connection of an endpoint from one replication instance (DMS DescribeConnections)."""

    TESTING = "testing"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    STATUS_CHOICES = [(TESTING, "testing"), (SUCCESSFUL, "successful"), (FAILED, "failed")]

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="connections")
    instance = models.ForeignKey("tasks.ReplicationInstance", on_delete=models.CASCADE,
                                 related_name="connections")
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=TESTING)
    message = models.TextField(blank=True)
    server_version = models.CharField(max_length=300, blank=True)
    warnings = models.TextField(blank=True)  # one per line
    cdc_ready = models.BooleanField(null=True)
    token = models.CharField(max_length=32)  # the current attempt: a late answer to an older one is dropped
    timeout_seconds = models.PositiveIntegerField(default=20)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField()
    picked_up_at = models.DateTimeField(null=True, blank=True)
    picked_up_by = models.CharField(max_length=255, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["instance__identifier"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "instance"], name="connection_per_instance")]

    def __str__(self) -> str:
        return f"{self.endpoint} from {self.instance}: {self.status}"

    @property
    def warning_list(self) -> list[str]:
        return [w for w in self.warnings.splitlines() if w.strip()]
