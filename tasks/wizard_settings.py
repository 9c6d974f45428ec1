"""The Task settings step: DMS's wizard fields and the JSON editor over one task-settings document.

Both modes edit the same document. The wizard shows the settings DMS's console shows and
writes them into the document, keeping every other key as it was; the JSON editor shows
the whole document. Switching mode carries the values across. Either way the engine's
own check (tasks.engine.settings.parse_task_settings) has the last word, and its
problems are shown at the field they concern (by JSON path).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django import forms

from tasks.engine.settings import parse_task_settings
from tasks.engine.settings_spec import (
    DEFAULT_SEVERITY,
    FULL_LOAD_SETTINGS,
    LOG_COMPONENT_IDS,
    LOG_SEVERITIES,
    TARGET_METADATA,
    Int,
)

from .models import MigrationType
from .wizard_forms import DATETIME_INPUTS, LiveForm

PREP_MODES = [("DO_NOTHING", "Do nothing"), ("DROP_AND_CREATE", "Drop tables on target"),
              ("TRUNCATE_BEFORE_LOAD", "Truncate")]
PREP_MODE_HELP = {
    "DO_NOTHING": "Target tables and their rows are left as they are; rows are added to them.",
    "DROP_AND_CREATE": "Each target table is dropped and created again, with its primary key.",
    "TRUNCATE_BEFORE_LOAD": "Each target table is emptied (its definition is kept).",
}
STOP_AFTER_FULL_LOAD = [("", "Don't stop"), ("before", "Stop before applying cached changes"),
                        ("after", "Stop after applying cached changes")]
LOB_MODES = [("none", "Don't include LOB columns"), ("full", "Full LOB mode"), ("limited", "Limited LOB mode")]
SEVERITY_LABELS = {
    "LOGGER_SEVERITY_ERROR": "Error", "LOGGER_SEVERITY_WARNING": "Warning", "LOGGER_SEVERITY_INFO": "Info",
    "LOGGER_SEVERITY_DEFAULT": "Default", "LOGGER_SEVERITY_DEBUG": "Debug",
    "LOGGER_SEVERITY_DETAILED_DEBUG": "Detailed debug",
}
CDC_STOP_MODES = [("", "Disable custom CDC stop mode"), ("server_time", "Specify a server time"),
                  ("commit_time", "Specify a source commit time")]

# Where each wizard field lives in the document: engine problems at these paths are shown at the field.
PATHS = {
    "target_table_prep_mode": ("FullLoadSettings.TargetTablePrepMode",),
    "stop_after_full_load": ("FullLoadSettings.StopTaskCachedChangesApplied",
                             "FullLoadSettings.StopTaskCachedChangesNotApplied"),
    "lob_mode": ("TargetMetadata.SupportLobs", "TargetMetadata.FullLobMode", "TargetMetadata.LimitedSizeLobMode"),
    "lob_chunk_size": ("TargetMetadata.LobChunkSize",),
    "lob_max_size": ("TargetMetadata.LobMaxSize",),
    "task_recovery_table": ("TargetMetadata.TaskRecoveryTableEnabled",),
    "enable_validation": ("ValidationSettings.EnableValidation", "ValidationSettings.ValidationOnly"),
    "enable_logging": ("Logging.EnableLogging",),
    "log_context": ("Logging.EnableLogContext",),
    "batch_apply": ("TargetMetadata.BatchApplyEnabled",),
    "max_full_load_subtasks": ("FullLoadSettings.MaxFullLoadSubTasks",),
    "transaction_consistency_timeout": ("FullLoadSettings.TransactionConsistencyTimeout",),
    "commit_rate": ("FullLoadSettings.CommitRate",),
}


def _bounded(spec: Any, key: str, label: str, help_text: str = "") -> forms.IntegerField:
    """An integer field with the bounds the engine's settings spec gives the key."""
    kind = spec.keys[key][0]
    assert isinstance(kind, Int)
    return forms.IntegerField(label=label, min_value=kind.low, max_value=kind.high, help_text=help_text)


def _log_field_name(component: str) -> str:
    return f"log_{component.lower()}"


class CdcStopForm(LiveForm):
    """DMS's custom CDC stop mode (CdcStopPosition), shown with both editing modes for CDC tasks."""

    sections = {"cdc-stop": ("cdc_stop_mode", "cdc_stop_time")}

    cdc_stop_mode = forms.ChoiceField(label="Custom CDC stop mode for source transactions", choices=CDC_STOP_MODES,
                                      required=False, widget=forms.RadioSelect)
    cdc_stop_time = forms.DateTimeField(
        label="Stop time (UTC)", required=False, input_formats=DATETIME_INPUTS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        help_text="Server time: the worker's clock. Commit time: the source's commit time of the changes.")

    def __init__(self, *args: Any, migration_type: str = MigrationType.FULL_LOAD, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.migration_type = migration_type
        if migration_type == MigrationType.FULL_LOAD:
            del self.fields["cdc_stop_mode"], self.fields["cdc_stop_time"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("cdc_stop_mode") and not data.get("cdc_stop_time") and "cdc_stop_time" not in self.errors:
            self.add_error("cdc_stop_time", "Give the time to stop at, or disable the custom CDC stop mode.")
        return data

    def cdc_stop(self) -> dict[str, str]:
        mode = self.cleaned_data.get("cdc_stop_mode") or ""
        when = self.cleaned_data.get("cdc_stop_time")
        if not mode or when is None:
            return {"mode": "", "time": ""}
        return {"mode": mode, "time": when.replace(tzinfo=None).isoformat(timespec="seconds")}


class SettingsForm(CdcStopForm):
    """The Wizard editing mode."""

    sections = {"lob": ("lob_mode", "lob_chunk_size", "lob_max_size"), **CdcStopForm.sections}

    target_table_prep_mode = forms.ChoiceField(label="Target table preparation mode", choices=PREP_MODES,
                                               widget=forms.RadioSelect)
    stop_after_full_load = forms.ChoiceField(label="Stop task after full load completes",
                                             choices=STOP_AFTER_FULL_LOAD, required=False, widget=forms.RadioSelect)
    lob_mode = forms.ChoiceField(label="Include LOB columns in replication", choices=LOB_MODES,
                                 widget=forms.RadioSelect)
    lob_chunk_size = _bounded(TARGET_METADATA, "LobChunkSize", "LOB chunk size (KB)",
                              "Full LOB mode reads LOBs in pieces of this size.")
    lob_max_size = _bounded(TARGET_METADATA, "LobMaxSize", "Maximum LOB size (KB)",
                            "Limited LOB mode cuts longer values to this size, with a warning in the task log.")
    task_recovery_table = forms.BooleanField(label="Create recovery table on target DB", required=False)
    enable_validation = forms.BooleanField(
        label="Turn on data validation", required=False,
        help_text="Stored in ValidationSettings; this engine does not compare source and target yet.")
    enable_logging = forms.BooleanField(
        label="Turn on CloudWatch logs", required=False,
        help_text="DMS's switch (Logging.EnableLogging). The console keeps the task log either way, each "
                  "component at the severity chosen below.")
    log_context = forms.BooleanField(label="Log context", required=False)
    batch_apply = forms.BooleanField(
        label="Batch-optimized apply", required=False,
        help_text="Nets changes per key and applies them in bulk: faster, but a target transaction no longer "
                  "matches a source transaction.")
    max_full_load_subtasks = _bounded(FULL_LOAD_SETTINGS, "MaxFullLoadSubTasks",
                                      "Maximum number of tables to load in parallel")
    transaction_consistency_timeout = _bounded(
        FULL_LOAD_SETTINGS, "TransactionConsistencyTimeout", "Transaction consistency timeout (seconds)",
        "How long the full load waits for transactions open at the start to finish.")
    commit_rate = _bounded(FULL_LOAD_SETTINGS, "CommitRate", "Commit rate during full load",
                           "The most rows transferred together.")

    def __init__(self, *args: Any, migration_type: str = MigrationType.FULL_LOAD, **kwargs: Any):
        super().__init__(*args, migration_type=migration_type, **kwargs)
        for component in LOG_COMPONENT_IDS:  # shown in a grid, checked with the form (a choice cannot be wrong)
            attrs = self.fields[_log_field_name(component)].widget.attrs
            for key in [k for k in attrs if k.startswith("hx-")]:
                del attrs[key]
        if migration_type != MigrationType.FULL_LOAD_AND_CDC:
            del self.fields["stop_after_full_load"]
        if migration_type == MigrationType.FULL_LOAD:
            del self.fields["task_recovery_table"], self.fields["batch_apply"]
        if migration_type == MigrationType.CDC:
            for name in ("target_table_prep_mode", "max_full_load_subtasks", "transaction_consistency_timeout",
                         "commit_rate"):
                del self.fields[name]

    def log_fields(self) -> list[forms.BoundField]:
        return [self[_log_field_name(c)] for c in LOG_COMPONENT_IDS]

    def main_fields(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("lob_mode") != "full":
            self.errors.pop("lob_chunk_size", None)
        if data.get("lob_mode") != "limited":
            self.errors.pop("lob_max_size", None)
        return data


for _component in LOG_COMPONENT_IDS:  # one severity per DMS log component, in DMS's order
    SettingsForm.base_fields[_log_field_name(_component)] = forms.ChoiceField(
        label=_component, choices=[(s, SEVERITY_LABELS[s]) for s in LOG_SEVERITIES])


def initial_from_document(document: dict[str, Any], cdc_stop: dict[str, Any]) -> dict[str, Any]:
    """The wizard's values from a (enriched) task-settings document."""
    metadata, full_load = document["TargetMetadata"], document["FullLoadSettings"]
    if metadata.get("SupportLobs") is False:
        lob_mode = "none"
    elif metadata.get("FullLobMode") is True:
        lob_mode = "full"
    else:
        lob_mode = "limited"
    stop = "before" if full_load.get("StopTaskCachedChangesNotApplied") is True else \
        "after" if full_load.get("StopTaskCachedChangesApplied") is True else ""
    initial = {
        "target_table_prep_mode": full_load.get("TargetTablePrepMode"),
        "stop_after_full_load": stop,
        "lob_mode": lob_mode,
        "lob_chunk_size": metadata.get("LobChunkSize"),
        "lob_max_size": metadata.get("LobMaxSize"),
        "task_recovery_table": metadata.get("TaskRecoveryTableEnabled") is True,
        "enable_validation": document["ValidationSettings"].get("EnableValidation") is True,
        "enable_logging": document["Logging"].get("EnableLogging") is True,
        "log_context": document["Logging"].get("EnableLogContext") is True,
        "batch_apply": metadata.get("BatchApplyEnabled") is True,
        "max_full_load_subtasks": full_load.get("MaxFullLoadSubTasks"),
        "transaction_consistency_timeout": full_load.get("TransactionConsistencyTimeout"),
        "commit_rate": full_load.get("CommitRate"),
        "cdc_stop_mode": cdc_stop.get("mode") or "",
        "cdc_stop_time": cdc_stop.get("time") or None,
    }
    components = document["Logging"].get("LogComponents")
    severities = {c["Id"]: c.get("Severity") for c in components if isinstance(c, dict) and "Id" in c} \
        if isinstance(components, list) else {}
    for component in LOG_COMPONENT_IDS:
        initial[_log_field_name(component)] = severities.get(component, DEFAULT_SEVERITY)
    return initial


def apply_to_document(document: dict[str, Any], form: SettingsForm) -> dict[str, Any]:
    """A copy of `document` with the wizard's values written in; keys the wizard does not show are kept."""
    doc = copy.deepcopy(document)
    data = form.cleaned_data
    metadata, full_load = doc["TargetMetadata"], doc["FullLoadSettings"]

    def put(group: dict[str, Any], key: str, name: str) -> None:
        if name in form.fields and data.get(name) is not None:
            group[key] = data[name]

    put(full_load, "TargetTablePrepMode", "target_table_prep_mode")
    if "stop_after_full_load" in form.fields:
        stop = data.get("stop_after_full_load") or ""
        full_load["StopTaskCachedChangesNotApplied"] = stop == "before"
        full_load["StopTaskCachedChangesApplied"] = stop == "after"
    lob_mode = data.get("lob_mode")
    metadata["SupportLobs"] = lob_mode != "none"
    metadata["FullLobMode"] = lob_mode == "full"
    metadata["LimitedSizeLobMode"] = lob_mode == "limited"
    if lob_mode == "full":
        put(metadata, "LobChunkSize", "lob_chunk_size")
    if lob_mode == "limited":
        put(metadata, "LobMaxSize", "lob_max_size")
    put(metadata, "TaskRecoveryTableEnabled", "task_recovery_table")
    put(metadata, "BatchApplyEnabled", "batch_apply")
    doc["ValidationSettings"]["EnableValidation"] = bool(data.get("enable_validation"))
    doc["Logging"]["EnableLogging"] = bool(data.get("enable_logging"))
    doc["Logging"]["EnableLogContext"] = bool(data.get("log_context"))
    existing = doc["Logging"].get("LogComponents")
    extra = [c for c in existing if isinstance(c, dict) and c.get("Id") not in LOG_COMPONENT_IDS] \
        if isinstance(existing, list) else []
    doc["Logging"]["LogComponents"] = [{"Id": c, "Severity": data[_log_field_name(c)]} for c in LOG_COMPONENT_IDS] \
        + extra
    put(full_load, "MaxFullLoadSubTasks", "max_full_load_subtasks")
    put(full_load, "TransactionConsistencyTimeout", "transaction_consistency_timeout")
    put(full_load, "CommitRate", "commit_rate")
    return doc


def check_wizard(form: SettingsForm, document: dict[str, Any]) -> str | None:
    """Write the form into `document`, check it with the engine and put its problems at the fields.
    Returns the enriched document text when there is no problem."""
    result = parse_task_settings(apply_to_document(document, form))
    for problem in result.errors:
        field = next((name for name, paths in PATHS.items() if problem.path in paths), None)
        if field is not None and field in form.fields:
            form.add_error(field, problem.message)
        elif problem.path.startswith("Logging.LogComponents"):
            form.add_error(None, str(problem))
        else:
            form.add_error(None, f"{problem} (edit it in the JSON editor)")
    return result.to_json_text() if result.ok else None


class SettingsJsonForm(CdcStopForm):
    """The JSON editor mode: the whole ReplicationTaskSettings document."""

    task_settings_json = forms.CharField(
        label="Task settings (JSON)", required=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
        help_text="DMS's ReplicationTaskSettings document. Groups and keys left out get DMS's defaults.")

    field_order = ["task_settings_json", "cdc_stop_mode", "cdc_stop_time"]

    def clean_task_settings_json(self) -> str:
        text = self.cleaned_data["task_settings_json"]
        result = parse_task_settings(text or None)
        self.warnings = [str(p) for p in result.warnings]
        if result.errors:
            raise forms.ValidationError([str(p) for p in result.errors])
        self.enriched = result.to_json_text()
        return text


def json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
