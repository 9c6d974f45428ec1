"""The create-task wizard's forms: Task configuration and Migration task startup configuration.

Every field checks itself as the user goes: htmx posts the whole form when a field
changes, and the step's view answers with that field (or its section, when the field
changes what else is shown) validated. The same form decides whether Next may leave.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django import forms

from dmsconsole.identifiers import validate_identifier
from endpoints.models import Endpoint

from .documents import check_task
from .models import MigrationType, ReplicationInstance, ReplicationTask
from .models.task import IDENTIFIER_MAX


class LiveForm(forms.Form):
    """A form whose fields validate on change. `sections` names groups of fields re-rendered together
    (a choice that shows or hides other fields); any other field is re-rendered alone."""

    sections: dict[str, tuple[str, ...]] = {}

    def __init__(self, *args: Any, validate_url: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        if validate_url:
            for name, field in self.fields.items():
                section = self.section_of(name)
                field.widget.attrs.update({
                    "hx-post": validate_url, "hx-trigger": "change",
                    "hx-target": f"#section-{section}" if section else f"#field-{name}", "hx-swap": "outerHTML",
                })

    @classmethod
    def section_of(cls, name: str) -> str | None:
        return next((section for section, names in cls.sections.items() if name in names), None)

    def errors_only_for(self, names: tuple[str, ...] | list[str]) -> None:
        """Keep the errors of `names` (what the user just touched); the others wait for Next."""
        for name in list(self.errors):
            if name not in names:
                del self.errors[name]


def _endpoint_choices(endpoint_type: str, placeholder: str) -> list[tuple[str, str]]:
    """The options shown: endpoints of one type only. The field itself accepts any endpoint, so that a
    wrong one (a forged or stale form) is refused with the reason rather than "not a valid choice"."""
    endpoints = Endpoint.objects.filter(endpoint_type=endpoint_type).order_by("identifier")
    return [("", placeholder)] + [(e.identifier, f"{e.identifier} ({e.get_engine_display()})") for e in endpoints]


# datetime-local inputs send the first two; hidden inputs (a field its section hides) the last ones.
DATETIME_INPUTS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%z"]
RESERVED_IDENTIFIERS = ("create",)  # /tasks/create/ is the wizard, not a task's page

CDC_START_MODES = [
    ("", "Don't use a custom CDC start point: replicate changes from when the task starts"),
    ("position", "Specify a log sequence number (native start position or checkpoint)"),
    ("time", "Specify a time"),
]


class ConfigurationForm(LiveForm):
    sections = {"migration": ("migration_type", "cdc_start_mode", "cdc_start_position", "cdc_start_time")}

    identifier = forms.CharField(
        label="Task identifier", max_length=IDENTIFIER_MAX,
        help_text="A unique name: letters, digits and hyphens, starting with a letter. Stored lower-case.")
    instance = forms.ModelChoiceField(
        label="Replication instance", queryset=ReplicationInstance.objects.order_by("identifier"),
        to_field_name="identifier", empty_label="Choose a replication instance",
        help_text="The pool of workers that runs the task.")
    source = forms.ModelChoiceField(
        label="Source database endpoint", queryset=Endpoint.objects.all(), to_field_name="identifier",
        help_text="Only source endpoints are offered.")
    target = forms.ModelChoiceField(
        label="Target database endpoint", queryset=Endpoint.objects.all(), to_field_name="identifier",
        help_text="Only target endpoints are offered.")
    migration_type = forms.ChoiceField(label="Migration type", choices=MigrationType.choices,
                                       widget=forms.RadioSelect, initial=MigrationType.FULL_LOAD)
    cdc_start_mode = forms.ChoiceField(label="CDC start mode for source transactions", choices=CDC_START_MODES,
                                       required=False, widget=forms.RadioSelect)
    cdc_start_position = forms.CharField(
        label="Log sequence number", required=False, max_length=255,
        help_text="MySQL: binlog file:position (mysql-bin.000024:373); PostgreSQL: an LSN (4AF/B00000D0) of an "
                  "existing slot; SQL Server: an LSN; or a checkpoint:V1#... from another task.")
    cdc_start_time = forms.DateTimeField(
        label="Start time (UTC)", required=False, input_formats=DATETIME_INPUTS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        help_text="Changes committed from this time on. Not available for PostgreSQL sources.")

    def __init__(self, *args: Any, task: ReplicationTask | None = None, fixed: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.task = task
        self.fields["source"].widget.choices = _endpoint_choices(Endpoint.SOURCE, "Choose a source endpoint")
        self.fields["target"].widget.choices = _endpoint_choices(Endpoint.TARGET, "Choose a target endpoint")
        if fixed:  # a task that has run keeps its endpoints, migration type and CDC start point (DMS)
            for name in ("source", "target", *self.sections["migration"]):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed: the task has run. Create a new task to change it."

    def clean_identifier(self) -> str:
        identifier = self.cleaned_data["identifier"].strip().lower()
        validate_identifier(identifier, IDENTIFIER_MAX)
        if identifier in RESERVED_IDENTIFIERS:
            raise forms.ValidationError(f"{identifier} names a console page (/tasks/{identifier}/): choose another "
                                        "identifier.")
        taken = ReplicationTask.objects.filter(identifier=identifier)
        if self.task is not None:
            taken = taken.exclude(pk=self.task.pk)
        if taken.exists():
            raise forms.ValidationError(f"A task named {identifier} already exists: choose another identifier.")
        return identifier

    def clean_source(self) -> Endpoint:
        endpoint = self.cleaned_data["source"]
        if endpoint.endpoint_type != Endpoint.SOURCE:
            raise forms.ValidationError(f"Endpoint {endpoint.identifier} is a target endpoint: choose a source "
                                        "endpoint as the source.")
        return endpoint

    def clean_target(self) -> Endpoint:
        endpoint = self.cleaned_data["target"]
        if endpoint.endpoint_type != Endpoint.TARGET:
            raise forms.ValidationError(f"Endpoint {endpoint.identifier} is a source endpoint: choose a target "
                                        "endpoint as the target.")
        return endpoint

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("migration_type") != MigrationType.CDC:
            data.update(cdc_start_mode="", cdc_start_position="", cdc_start_time=None)
        mode = data.get("cdc_start_mode")
        if mode == "position" and not data.get("cdc_start_position") and "cdc_start_position" not in self.errors:
            self.add_error("cdc_start_position", "Give the native position to start from, or choose another mode.")
        if mode == "time" and not data.get("cdc_start_time") and "cdc_start_time" not in self.errors:
            self.add_error("cdc_start_time", "Give the time to start from, or choose another mode.")
        if mode != "position":
            data["cdc_start_position"] = ""
        if mode != "time":
            data["cdc_start_time"] = None
        self._check_with_the_model(data)
        return data

    def _check_with_the_model(self, data: dict[str, Any]) -> None:
        """The task model's own checks of these fields (endpoint roles, CDC start point per engine)."""
        source, target = data.get("source"), data.get("target")
        probe = ReplicationTask(source=source, target=target, migration_type=data.get("migration_type") or "",
                                cdc_start_position=data.get("cdc_start_position") or "",
                                cdc_start_time=data.get("cdc_start_time"), table_mappings="")
        for name, messages in check_task(probe).items():
            if name in self.fields and name not in self.errors:
                for message in messages:
                    self.add_error(name, message)

    def values(self) -> dict[str, Any]:
        """The draft's config: plain values."""
        data = self.cleaned_data
        when = data.get("cdc_start_time")
        return {
            "identifier": data["identifier"], "instance": data["instance"].identifier,
            "source": data["source"].identifier, "target": data["target"].identifier,
            "migration_type": data["migration_type"], "cdc_start_mode": data.get("cdc_start_mode") or "",
            "cdc_start_position": data.get("cdc_start_position") or "",
            "cdc_start_time": when.astimezone(UTC).replace(tzinfo=None).isoformat() if when else "",
        }


START_CHOICES = [("automatic", "Automatically on create"), ("manual", "Manually later")]


class StartupForm(LiveForm):
    start_migration_task = forms.ChoiceField(
        label="Start migration task", choices=START_CHOICES, widget=forms.RadioSelect, initial="automatic",
        help_text="Manually later: the task waits in status Ready until an Operator starts it.")
