"""Task-settings documents (DMS `ReplicationTaskSettings` JSON) with DMS's defaults.

`parse_task_settings` takes what a user gave (text, a dict, or nothing), checks every
value, and returns the enriched document (every group filled in with DMS's defaults,
in DMS's key order, so re-saving an unchanged document gives identical JSON) with
typed settings for the engine. Wrong types and values are errors; unknown and legacy
keys are kept in the document and reported as warnings, never dropped silently.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from endpoints.engines.plan import LobMode, LobSettings, PrepMode

from .problems import Problem, Problems, json_kind, one_of, show
from .settings_spec import (
    DEFAULT_SEVERITY,
    EXTRA_LOG_COMPONENT_IDS,
    LOG_COMPONENT_IDS,
    LOG_COMPONENTS,
    LOG_SEVERITIES,
    TOP_LEVEL,
    UNSUPPORTED_GROUPS,
    Group,
    Scalar,
    describe_bad_value,
)
from .settings_types import TYPED_GROUPS, LoggingSettings, TaskSettings, snake_case

_MISSING = object()


@dataclass(frozen=True)
class SettingsResult:
    document: dict[str, Any]  # the enriched document
    settings: TaskSettings  # typed view; DMS defaults stand in for values that had errors
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json_text(self) -> str:
        """The enriched document as stored and shown: stable for an unchanged document."""
        return json.dumps(self.document, indent=2, ensure_ascii=False)


def parse_task_settings(doc: str | dict | None) -> SettingsResult:
    problems = Problems()
    given = _load(doc, problems)
    document = _enrich(given, problems)
    _check_combinations(document, given, problems)
    _warn_unimplemented(document, problems)
    return SettingsResult(document, _typed(document), problems.errors, problems.warnings)


def lob_settings(settings: TaskSettings) -> LobSettings:
    """The task's LOB handling for plans. `max_bytes` is the limited-mode cut (LobMaxSize KB)."""
    metadata = settings.target_metadata
    max_bytes = metadata.lob_max_size * 1024
    if not metadata.support_lobs:
        return LobSettings(LobMode.NONE, max_bytes)
    if metadata.full_lob_mode:
        return LobSettings(LobMode.FULL, max_bytes)
    return LobSettings(LobMode.LIMITED, max_bytes)


# ---- reading --------------------------------------------------------------------------------


def _load(doc: str | dict | None, problems: Problems) -> dict[str, Any]:
    if doc is None:
        return {}
    if isinstance(doc, str):
        if not doc.strip():
            return {}
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as exc:
            problems.error("(document)", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
                           "allowed: a JSON object of task-settings groups")
            return {}
    if not isinstance(doc, dict):
        problems.error("(document)", f"got {json_kind(doc)}; allowed: a JSON object of task-settings groups "
                       "such as {\"TargetMetadata\": {...}}")
        return {}
    return doc


def _enrich(given: dict[str, Any], problems: Problems) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, spec in TOP_LEVEL.items():
        value = given.get(name, _MISSING)
        if isinstance(spec, Group):
            document[name] = _enrich_group(name, value, spec, problems)
        else:
            document[name] = _scalar(name, value, spec, problems)
    for name, value in given.items():
        if name not in TOP_LEVEL:
            problems.warn(name, f"is not a task-settings group this engine knows; it is kept and ignored. "
                          f"Known groups: {one_of(list(TOP_LEVEL))}")
            document[name] = value
    return document


def _scalar(path: str, value: Any, spec: Scalar, problems: Problems) -> Any:
    if value is _MISSING:
        return copy.deepcopy(spec.default)
    if not spec.kind.accepts(value):
        problems.error(path, describe_bad_value(spec.kind, value))
    return value


def _enrich_group(name: str, given: Any, spec: Group, problems: Problems) -> dict[str, Any]:
    if given is _MISSING or given is None:  # DMS returns unset groups as null and fills them
        given = {}
    elif not isinstance(given, dict):
        problems.error(name, f"got {show(given)} ({json_kind(given)}); allowed: an object of {name} settings")
        given = {}
    out: dict[str, Any] = {}
    for key, (kind, default) in spec.keys.items():
        path = f"{name}.{key}"
        if key not in given:
            out[key] = copy.deepcopy(default)
        elif kind is LOG_COMPONENTS:
            out[key] = _log_components(path, given[key], problems)
        else:
            if not kind.accepts(given[key]):
                problems.error(path, describe_bad_value(kind, given[key]))
            out[key] = given[key]
    for key, kind in spec.optional.items():
        if key in given:
            if not kind.accepts(given[key]):
                problems.error(f"{name}.{key}", describe_bad_value(kind, given[key]))
            out[key] = given[key]
    for key, value in given.items():
        if key in out:
            continue
        if key in spec.legacy:
            problems.warn(f"{name}.{key}", "is a legacy setting older DMS versions returned; it is kept and ignored")
        else:
            known = one_of(list(spec.keys) + list(spec.optional))
            problems.warn(f"{name}.{key}", f"is not a {name} setting this engine knows; it is kept and ignored. "
                          f"Known keys: {known}")
        out[key] = value
    return out


def _log_components(path: str, given: Any, problems: Problems) -> Any:
    """Check each {Id, Severity}; components not named keep LOGGER_SEVERITY_DEFAULT."""
    if not isinstance(given, list):
        problems.error(path, f"got {show(given)} ({json_kind(given)}); allowed: {LOG_COMPONENTS.allowed()}")
        return given
    severities: dict[str, Any] = {}
    known_ids = LOG_COMPONENT_IDS + EXTRA_LOG_COMPONENT_IDS
    for index, item in enumerate(given):
        where = f"{path}[{index}]"
        if not isinstance(item, dict) or "Id" not in item:
            problems.error(where, f"got {show(item)}; allowed: {{\"Id\": <component>, \"Severity\": <severity>}}")
            continue
        component, severity = item["Id"], item.get("Severity", DEFAULT_SEVERITY)
        if component not in known_ids:
            problems.error(f"{where}.Id", f"got {show(component)}; allowed: one of {one_of(known_ids)}")
        elif component in severities:
            problems.error(f"{where}.Id", f"{show(component)} is listed twice; allowed: each component once")
        if severity not in LOG_SEVERITIES:
            problems.error(f"{where}.Severity", f"got {show(severity)}; allowed: one of {one_of(LOG_SEVERITIES)}")
        for key in item:
            if key not in ("Id", "Severity"):
                problems.warn(f"{where}.{key}", "is not a log component key; it is ignored. Known keys: Id, Severity")
        if isinstance(component, str) and component not in severities:
            severities[component] = severity
    ordered = [i for i in known_ids if i in LOG_COMPONENT_IDS or i in severities]
    ordered += [i for i in severities if i not in ordered]
    return [{"Id": i, "Severity": severities.get(i, DEFAULT_SEVERITY)} for i in ordered]


# ---- checks across keys ---------------------------------------------------------------------


def _check_combinations(document: dict[str, Any], given: dict[str, Any], problems: Problems) -> None:
    metadata = document["TargetMetadata"]
    given_metadata = given.get("TargetMetadata") if isinstance(given.get("TargetMetadata"), dict) else {}
    # Choosing full LOB mode alone means leaving limited mode, as the console does.
    if given_metadata.get("FullLobMode") is True and "LimitedSizeLobMode" not in given_metadata:
        metadata["LimitedSizeLobMode"] = False
    _check_lobs(metadata, problems)
    full_load = document["FullLoadSettings"]
    if full_load["StopTaskCachedChangesApplied"] is True and full_load["StopTaskCachedChangesNotApplied"] is True:
        problems.error("FullLoadSettings.StopTaskCachedChangesNotApplied",
                       "StopTaskCachedChangesApplied and StopTaskCachedChangesNotApplied are both true; "
                       "allowed: at most one of them true")
    validation = document["ValidationSettings"]
    if validation["ValidationOnly"] is True and full_load["TargetTablePrepMode"] != "DO_NOTHING":
        problems.error("ValidationSettings.ValidationOnly",
                       f"a validation-only task must leave target tables alone, but "
                       f"FullLoadSettings.TargetTablePrepMode is {show(full_load['TargetTablePrepMode'])}; "
                       "allowed: TargetTablePrepMode \"DO_NOTHING\" with ValidationOnly true")
    tuning = document["ChangeProcessingTuning"]
    low, high = tuning["BatchApplyTimeoutMin"], tuning["BatchApplyTimeoutMax"]
    if isinstance(low, int) and isinstance(high, int) and high < low:
        problems.error("ChangeProcessingTuning.BatchApplyTimeoutMax",
                       f"got {high}, below BatchApplyTimeoutMin {low}; allowed: an integer of at least {low}")


def _check_lobs(metadata: dict[str, Any], problems: Problems) -> None:
    if metadata["SupportLobs"] is not True:
        return
    full, limited = metadata["FullLobMode"] is True, metadata["LimitedSizeLobMode"] is True
    if full and limited:
        problems.error("TargetMetadata.LimitedSizeLobMode",
                       "FullLobMode and LimitedSizeLobMode are both true; allowed: exactly one of them true "
                       "(full LOB mode carries LOBs whole, limited mode cuts them at LobMaxSize)")
    elif not full and not limited:
        problems.error("TargetMetadata.LimitedSizeLobMode",
                       "SupportLobs is true but FullLobMode and LimitedSizeLobMode are both false; allowed: one "
                       "of them true, or SupportLobs false to leave LOB columns out")
    elif limited and metadata["LobMaxSize"] == 0:
        problems.error("TargetMetadata.LobMaxSize",
                       "got 0 in limited LOB mode, which would cut every LOB to nothing; allowed: an integer "
                       "from 1 to 102400 (KB)")


def _warn_unimplemented(document: dict[str, Any], problems: Problems) -> None:
    for name, reason in UNSUPPORTED_GROUPS.items():
        if document.get(name) is not None:
            problems.warn(name, f"is set, but {reason}; it is kept and ignored")
    if document["TTSettings"].get("EnableTT") is True:
        problems.warn("TTSettings.EnableTT", "Time Travel logging to Amazon S3 is not implemented; it is ignored")
    metadata = document["TargetMetadata"]
    if isinstance(metadata["InlineLobMaxSize"], int) and metadata["InlineLobMaxSize"] > 0:
        problems.warn("TargetMetadata.InlineLobMaxSize",
                      "inline LOB mode is not implemented; LOBs follow FullLobMode / LimitedSizeLobMode")
    if metadata["BatchApplyEnabled"] is True and metadata["FullLobMode"] is True and metadata["SupportLobs"]:
        problems.warn("TargetMetadata.BatchApplyEnabled",
                      "DMS supports LOBs in batch apply only in limited LOB mode; tables with LOB columns "
                      "are applied in transactional mode")
    for key in ("ParallelLoadThreads", "ParallelApplyThreads"):
        if isinstance(metadata[key], int) and metadata[key] > 0:
            problems.warn(f"TargetMetadata.{key}", "applies to non-relational targets (DynamoDB, Kinesis, Kafka, "
                          "OpenSearch, Redshift) only; it is ignored for database targets")


# ---- typed view -----------------------------------------------------------------------------


def _typed(document: dict[str, Any]) -> TaskSettings:
    values: dict[str, Any] = {}
    for group_name, (attribute, cls) in TYPED_GROUPS.items():
        spec = TOP_LEVEL[group_name]
        assert isinstance(spec, Group)
        fields = {}
        for key, (kind, default) in spec.keys.items():
            value = document[group_name][key]
            fields[snake_case(key)] = value if kind.accepts(value) else default
        if group_name == "FullLoadSettings":
            fields["target_table_prep_mode"] = PrepMode(fields["target_table_prep_mode"])
        values[attribute] = cls(**fields)
    values["logging"] = _typed_logging(document["Logging"])
    flag = document["FailTaskWhenCleanTaskResourceFailed"]
    values["fail_task_when_clean_task_resource_failed"] = flag if isinstance(flag, bool) else False
    return TaskSettings(**values)


def _typed_logging(group: dict[str, Any]) -> LoggingSettings:
    components = {component: DEFAULT_SEVERITY for component in LOG_COMPONENT_IDS}
    if isinstance(group["LogComponents"], list):
        for item in group["LogComponents"]:
            if isinstance(item, dict) and item.get("Severity") in LOG_SEVERITIES and isinstance(item.get("Id"), str):
                components[item["Id"]] = item["Severity"]
    enable_logging, enable_context = group["EnableLogging"], group["EnableLogContext"]
    return LoggingSettings(
        enable_logging=enable_logging if isinstance(enable_logging, bool) else False,
        enable_log_context=enable_context if isinstance(enable_context, bool) else False,
        log_components=MappingProxyType(components),
    )
