"""Task-settings documents: DMS defaults, stable enrichment, checks with exact messages."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoints.engines.plan import LobMode, LobSettings, PrepMode
from tasks.engine.settings import lob_settings, parse_task_settings
from tasks.engine.settings_spec import TOP_LEVEL, Bool, Choice, Group, Int
from tasks.engine.settings_types import TYPED_GROUPS, TaskSettings, snake_case

COMPONENTS = ["TRANSFORMATION", "SOURCE_UNLOAD", "IO", "TARGET_LOAD", "PERFORMANCE", "SOURCE_CAPTURE", "SORTER",
              "REST_SERVER", "VALIDATOR_EXT", "TARGET_APPLY", "TASK_MANAGER", "TABLES_MANAGER", "METADATA_MANAGER",
              "FILE_FACTORY", "COMMON", "ADDONS", "DATA_STRUCTURE", "COMMUNICATION", "FILE_TRANSFER"]

DMS_DEFAULTS = {
    "TargetMetadata": {"TargetSchema": "", "SupportLobs": True, "FullLobMode": False, "LobChunkSize": 64,
                       "LimitedSizeLobMode": True, "LobMaxSize": 32, "InlineLobMaxSize": 0, "LoadMaxFileSize": 0,
                       "ParallelLoadThreads": 0, "ParallelLoadBufferSize": 0, "ParallelLoadQueuesPerThread": 0,
                       "ParallelApplyThreads": 0, "ParallelApplyBufferSize": 0, "ParallelApplyQueuesPerThread": 0,
                       "BatchApplyEnabled": False, "TaskRecoveryTableEnabled": False},
    "FullLoadSettings": {"TargetTablePrepMode": "DROP_AND_CREATE", "CreatePkAfterFullLoad": False,
                         "StopTaskCachedChangesApplied": False, "StopTaskCachedChangesNotApplied": False,
                         "MaxFullLoadSubTasks": 8, "TransactionConsistencyTimeout": 600, "CommitRate": 10000},
    "Logging": {"EnableLogging": False, "EnableLogContext": False,
                "LogComponents": [{"Id": c, "Severity": "LOGGER_SEVERITY_DEFAULT"} for c in COMPONENTS]},
    "ControlTablesSettings": {"ControlSchema": "", "HistoryTimeslotInMinutes": 5, "HistoryTableEnabled": False,
                              "SuspendedTablesTableEnabled": False, "StatusTableEnabled": False,
                              "FullLoadExceptionTableEnabled": False},
    "StreamBufferSettings": {"StreamBufferCount": 3, "StreamBufferSizeInMB": 8, "CtrlStreamBufferSizeInMB": 5},
    "ChangeProcessingTuning": {"BatchApplyPreserveTransaction": True, "BatchApplyTimeoutMin": 1,
                               "BatchApplyTimeoutMax": 30, "BatchApplyMemoryLimit": 500, "BatchSplitSize": 0,
                               "MinTransactionSize": 1000, "CommitTimeout": 1, "MemoryLimitTotal": 1024,
                               "MemoryKeepTime": 60, "StatementCacheSize": 50, "RecoveryTimeout": -1},
    "ChangeProcessingDdlHandlingPolicy": {"HandleSourceTableDropped": True, "HandleSourceTableTruncated": True,
                                          "HandleSourceTableAltered": True},
    "ErrorBehavior": {"DataErrorPolicy": "LOG_ERROR", "DataTruncationErrorPolicy": "LOG_ERROR",
                      "DataMaskingErrorPolicy": "STOP_TASK", "DataErrorEscalationPolicy": "SUSPEND_TABLE",
                      "DataErrorEscalationCount": 0, "TableErrorPolicy": "SUSPEND_TABLE",
                      "TableErrorEscalationPolicy": "STOP_TASK", "TableErrorEscalationCount": 0,
                      "RecoverableErrorCount": -1, "RecoverableErrorInterval": 5, "RecoverableErrorThrottling": True,
                      "RecoverableErrorThrottlingMax": 1800, "RecoverableErrorStopRetryAfterThrottlingMax": True,
                      "ApplyErrorDeletePolicy": "IGNORE_RECORD", "ApplyErrorInsertPolicy": "LOG_ERROR",
                      "ApplyErrorUpdatePolicy": "LOG_ERROR", "ApplyErrorEscalationPolicy": "LOG_ERROR",
                      "ApplyErrorEscalationCount": 0, "ApplyErrorFailOnTruncationDdl": False,
                      "FullLoadIgnoreConflicts": True, "FailOnTransactionConsistencyBreached": False,
                      "FailOnNoTablesCaptured": True, "EventErrorPolicy": "IGNORE"},
    "ValidationSettings": {"EnableValidation": False, "ValidationMode": "ROW_LEVEL", "ThreadCount": 5,
                           "PartitionSize": 10000, "FailureMaxCount": 10000, "RecordFailureDelayInMinutes": 5,
                           "RecordSuspendDelayInMinutes": 30, "MaxKeyColumnSize": 8096, "TableFailureMaxCount": 1000,
                           "ValidationOnly": False, "HandleCollationDiff": False,
                           "RecordFailureDelayLimitInMinutes": 0, "SkipLobColumns": False,
                           "ValidationPartialLobSize": 0, "ValidationQueryCdcDelaySeconds": 0},
    "BeforeImageSettings": None,
    "LoopbackPreventionSettings": None,
    "CharacterSetSettings": None,
    "TTSettings": {"EnableTT": False, "TTS3Settings": None, "TTRecordSettings": None},
    "PostProcessingRules": None,
    "FailTaskWhenCleanTaskResourceFailed": False,
}


def messages(problems) -> list[str]:
    return [str(p) for p in problems]


# ---- defaults and enrichment ----------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "", "  ", {}, "{}"])
def test_it_fills_every_dms_default_for_an_empty_document(empty) -> None:
    result = parse_task_settings(empty)
    assert result.document == DMS_DEFAULTS
    assert list(result.document) == list(DMS_DEFAULTS)
    assert result.errors == [] and result.warnings == []


def test_it_treats_null_groups_as_unset() -> None:
    result = parse_task_settings({"TargetMetadata": None, "ErrorBehavior": None})
    assert result.document["TargetMetadata"] == DMS_DEFAULTS["TargetMetadata"]
    assert result.errors == []


def test_it_keeps_given_values_and_fills_the_rest_in_dms_order() -> None:
    given = {"FullLoadSettings": {"CommitRate": 50000, "TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD"}}
    result = parse_task_settings(given)
    assert list(result.document["FullLoadSettings"].items()) == [
        ("TargetTablePrepMode", "TRUNCATE_BEFORE_LOAD"), ("CreatePkAfterFullLoad", False),
        ("StopTaskCachedChangesApplied", False), ("StopTaskCachedChangesNotApplied", False),
        ("MaxFullLoadSubTasks", 8), ("TransactionConsistencyTimeout", 600), ("CommitRate", 50000)]


def test_it_gives_identical_json_when_an_unchanged_document_is_saved_again() -> None:
    first = parse_task_settings('{"Logging": {"LogComponents": [{"Severity": "LOGGER_SEVERITY_DEBUG", '
                                '"Id": "SORTER"}]}, "Extra": {"a": 1}, "TargetMetadata": {"FullLobMode": true}}')
    second = parse_task_settings(first.to_json_text())
    assert second.to_json_text() == first.to_json_text()
    assert second.document["TargetMetadata"]["LimitedSizeLobMode"] is False


def _valid_value(kind):
    if isinstance(kind, Bool):
        return st.booleans()
    if isinstance(kind, Int):
        return st.integers(kind.low if kind.low is not None else -5, kind.high if kind.high is not None else 10**6)
    if isinstance(kind, Choice):
        return st.sampled_from(kind.values)
    return st.text(max_size=5)


_SIMPLE = {"FullLoadSettings", "ControlTablesSettings", "StreamBufferSettings",
           "ChangeProcessingDdlHandlingPolicy", "ErrorBehavior"}


@st.composite
def partial_documents(draw):
    document = {}
    for name in sorted(_SIMPLE):
        spec = TOP_LEVEL[name]
        keys = draw(st.lists(st.sampled_from(list(spec.keys)), unique=True, max_size=4))
        if keys:
            document[name] = {key: draw(_valid_value(spec.keys[key][0])) for key in keys}
    return document


@settings(max_examples=150)
@given(partial_documents())
def test_it_is_stable_for_any_partial_document(document) -> None:
    first = parse_task_settings(document)
    assert parse_task_settings(first.to_json_text()).to_json_text() == first.to_json_text()
    for name, group in document.items():
        for key, value in group.items():
            assert first.document[name][key] == value


# ---- typed access ---------------------------------------------------------------------------


def test_it_gives_typed_settings_with_dms_defaults() -> None:
    typed = parse_task_settings(None).settings
    assert typed == TaskSettings()
    assert typed.full_load.target_table_prep_mode is PrepMode.DROP_AND_CREATE
    assert typed.full_load.max_full_load_sub_tasks == 8
    assert typed.target_metadata.lob_max_size == 32
    assert typed.error_behavior.fail_on_no_tables_captured is True
    assert typed.logging.log_components["SORTER"] == "LOGGER_SEVERITY_DEFAULT"
    assert typed.change_processing.statement_cache_size == 50


def test_it_gives_typed_values_from_the_document() -> None:
    typed = parse_task_settings({
        "TargetMetadata": {"TargetSchema": "dw", "BatchApplyEnabled": True, "TaskRecoveryTableEnabled": True},
        "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING", "MaxFullLoadSubTasks": 49,
                             "CreatePkAfterFullLoad": True},
        "ErrorBehavior": {"ApplyErrorInsertPolicy": "INSERT_RECORD", "FailOnNoTablesCaptured": False},
        "ControlTablesSettings": {"ControlSchema": "dmslogs", "StatusTableEnabled": True},
        "Logging": {"EnableLogging": True, "LogComponents": [{"Id": "TARGET_APPLY",
                                                              "Severity": "LOGGER_SEVERITY_DEBUG"}]},
        "ValidationSettings": {"EnableValidation": True, "ThreadCount": 8},
    }).settings
    assert typed.target_metadata.target_schema == "dw"
    assert typed.target_metadata.batch_apply_enabled is True
    assert typed.target_metadata.task_recovery_table_enabled is True
    assert typed.full_load.target_table_prep_mode is PrepMode.DO_NOTHING
    assert typed.full_load.max_full_load_sub_tasks == 49
    assert typed.full_load.create_pk_after_full_load is True
    assert typed.error_behavior.apply_error_insert_policy == "INSERT_RECORD"
    assert typed.error_behavior.fail_on_no_tables_captured is False
    assert typed.control_tables.control_schema == "dmslogs"
    assert typed.control_tables.status_table_enabled is True
    assert typed.logging.enable_logging is True
    assert typed.logging.log_components["TARGET_APPLY"] == "LOGGER_SEVERITY_DEBUG"
    assert typed.logging.log_components["SORTER"] == "LOGGER_SEVERITY_DEFAULT"
    assert typed.validation.enable_validation is True
    assert typed.validation.thread_count == 8


def test_it_uses_defaults_in_typed_settings_where_values_are_wrong() -> None:
    result = parse_task_settings({"FullLoadSettings": {"CommitRate": "fast", "MaxFullLoadSubTasks": 0}})
    assert result.settings.full_load.commit_rate == 10000
    assert result.settings.full_load.max_full_load_sub_tasks == 8
    assert result.document["FullLoadSettings"]["CommitRate"] == "fast"  # the user still sees what they wrote


def test_it_keeps_typed_fields_and_spec_keys_in_step() -> None:
    for group_name, (_attribute, cls) in TYPED_GROUPS.items():
        spec = TOP_LEVEL[group_name]
        assert isinstance(spec, Group)
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        assert list(fields) == [snake_case(k) for k in spec.keys], group_name
        for key, (_, default) in spec.keys.items():
            assert fields[snake_case(key)] == default, f"{group_name}.{key}"


def test_it_turns_dms_keys_into_snake_case() -> None:
    assert snake_case("CtrlStreamBufferSizeInMB") == "ctrl_stream_buffer_size_in_mb"
    assert snake_case("CreatePkAfterFullLoad") == "create_pk_after_full_load"
    assert snake_case("EnableTT") == "enable_tt"


# ---- LOB settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, LobSettings(LobMode.LIMITED, 32 * 1024)),
        ({"LobMaxSize": 100}, LobSettings(LobMode.LIMITED, 102400)),
        ({"FullLobMode": True}, LobSettings(LobMode.FULL, 32 * 1024)),
        ({"SupportLobs": False}, LobSettings(LobMode.NONE, 32 * 1024)),
        ({"SupportLobs": False, "FullLobMode": True, "LimitedSizeLobMode": False}, LobSettings(LobMode.NONE, 32768)),
    ],
)
def test_it_gives_lob_settings_for_plans(metadata, expected) -> None:
    result = parse_task_settings({"TargetMetadata": metadata})
    assert result.errors == []
    assert lob_settings(result.settings) == expected


# ---- errors and warnings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"FullLoadSettings": {"MaxFullLoadSubTasks": 50}},
         "FullLoadSettings.MaxFullLoadSubTasks: got 50; allowed: an integer from 1 to 49"),
        ({"FullLoadSettings": {"MaxFullLoadSubTasks": 0}},
         "FullLoadSettings.MaxFullLoadSubTasks: got 0; allowed: an integer from 1 to 49"),
        ({"FullLoadSettings": {"CommitRate": 50001}},
         "FullLoadSettings.CommitRate: got 50001; allowed: an integer from 1 to 50000"),
        ({"FullLoadSettings": {"CommitRate": "10000"}},
         'FullLoadSettings.CommitRate: got "10000" (a string); allowed: an integer from 1 to 50000'),
        ({"FullLoadSettings": {"TargetTablePrepMode": "DROP"}},
         'FullLoadSettings.TargetTablePrepMode: got "DROP"; allowed: one of DO_NOTHING, DROP_AND_CREATE, '
         'TRUNCATE_BEFORE_LOAD'),
        ({"TargetMetadata": {"SupportLobs": "yes"}},
         'TargetMetadata.SupportLobs: got "yes" (a string); allowed: true or false'),
        ({"TargetMetadata": {"BatchApplyEnabled": 1}},
         "TargetMetadata.BatchApplyEnabled: got 1 (a number); allowed: true or false"),
        ({"TargetMetadata": {"TargetSchema": 5}},
         "TargetMetadata.TargetSchema: got 5 (a number); allowed: a string"),
        ({"TargetMetadata": {"LobMaxSize": 102401}},
         "TargetMetadata.LobMaxSize: got 102401; allowed: an integer from 0 to 102400"),
        ({"ErrorBehavior": {"ApplyErrorDeletePolicy": "INSERT_RECORD"}},
         'ErrorBehavior.ApplyErrorDeletePolicy: got "INSERT_RECORD"; allowed: one of IGNORE_RECORD, LOG_ERROR, '
         'SUSPEND_TABLE, STOP_TASK'),
        ({"ErrorBehavior": {"ApplyErrorUpdatePolicy": "INSERT_RECORD"}},
         'ErrorBehavior.ApplyErrorUpdatePolicy: got "INSERT_RECORD"; allowed: one of IGNORE_RECORD, LOG_ERROR, '
         'SUSPEND_TABLE, STOP_TASK, UPDATE_RECORD'),
        ({"ErrorBehavior": {"TableErrorEscalationPolicy": "SUSPEND_TABLE"}},
         'ErrorBehavior.TableErrorEscalationPolicy: got "SUSPEND_TABLE"; allowed: one of STOP_TASK'),
        ({"ErrorBehavior": {"EventErrorPolicy": "LOG_ERROR"}},
         'ErrorBehavior.EventErrorPolicy: got "LOG_ERROR"; allowed: one of IGNORE, STOP_TASK'),
        ({"ErrorBehavior": {"RecoverableErrorCount": -2}},
         "ErrorBehavior.RecoverableErrorCount: got -2; allowed: an integer of at least -1"),
        ({"ChangeProcessingTuning": {"StatementCacheSize": 201}},
         "ChangeProcessingTuning.StatementCacheSize: got 201; allowed: an integer from 0 to 200"),
        ({"StreamBufferSettings": {"CtrlStreamBufferSizeInMB": 9}},
         "StreamBufferSettings.CtrlStreamBufferSizeInMB: got 9; allowed: an integer from 1 to 8"),
        ({"ValidationSettings": {"ValidationMode": "TABLE_LEVEL"}},
         'ValidationSettings.ValidationMode: got "TABLE_LEVEL"; allowed: one of ROW_LEVEL'),
        ({"ControlTablesSettings": {"HistoryTimeslotInMinutes": 0}},
         "ControlTablesSettings.HistoryTimeslotInMinutes: got 0; allowed: an integer of at least 1"),
        ({"ChangeProcessingDdlHandlingPolicy": {"HandleSourceTableDropped": None}},
         "ChangeProcessingDdlHandlingPolicy.HandleSourceTableDropped: got null; allowed: true or false"),
        ({"FailTaskWhenCleanTaskResourceFailed": "no"},
         'FailTaskWhenCleanTaskResourceFailed: got "no" (a string); allowed: true or false'),
        ({"BeforeImageSettings": []},
         "BeforeImageSettings: got [] (an array); allowed: an object or null"),
        ({"TargetMetadata": [1]},
         "TargetMetadata: got [1] (an array); allowed: an object of TargetMetadata settings"),
        ({"Logging": {"LogComponents": {"SORTER": "DEBUG"}}},
         'Logging.LogComponents: got {"SORTER": "DEBUG"} (an object); allowed: an array of {"Id": <component>, '
         '"Severity": <severity>} objects'),
        ({"Logging": {"LogComponents": [{"Id": "SORTING", "Severity": "LOGGER_SEVERITY_DEBUG"}]}},
         'Logging.LogComponents[0].Id: got "SORTING"; allowed: one of ' + ", ".join(COMPONENTS) + ", VALIDATOR"),
        ({"Logging": {"LogComponents": [{"Id": "SORTER", "Severity": "DEBUG"}]}},
         'Logging.LogComponents[0].Severity: got "DEBUG"; allowed: one of LOGGER_SEVERITY_ERROR, '
         'LOGGER_SEVERITY_WARNING, LOGGER_SEVERITY_INFO, LOGGER_SEVERITY_DEFAULT, LOGGER_SEVERITY_DEBUG, '
         'LOGGER_SEVERITY_DETAILED_DEBUG'),
        ({"Logging": {"LogComponents": [{"Id": "IO"}, {"Id": "IO"}]}},
         'Logging.LogComponents[1].Id: "IO" is listed twice; allowed: each component once'),
        ({"Logging": {"CloudWatchLogGroup": 3}},
         "Logging.CloudWatchLogGroup: got 3 (a number); allowed: a string or null"),
        ({"TargetMetadata": {"FullLobMode": True, "LimitedSizeLobMode": True}},
         "TargetMetadata.LimitedSizeLobMode: FullLobMode and LimitedSizeLobMode are both true; allowed: exactly "
         "one of them true (full LOB mode carries LOBs whole, limited mode cuts them at LobMaxSize)"),
        ({"TargetMetadata": {"LimitedSizeLobMode": False}},
         "TargetMetadata.LimitedSizeLobMode: SupportLobs is true but FullLobMode and LimitedSizeLobMode are both "
         "false; allowed: one of them true, or SupportLobs false to leave LOB columns out"),
        ({"TargetMetadata": {"LobMaxSize": 0}},
         "TargetMetadata.LobMaxSize: got 0 in limited LOB mode, which would cut every LOB to nothing; allowed: an "
         "integer from 1 to 102400 (KB)"),
        ({"FullLoadSettings": {"StopTaskCachedChangesApplied": True, "StopTaskCachedChangesNotApplied": True}},
         "FullLoadSettings.StopTaskCachedChangesNotApplied: StopTaskCachedChangesApplied and "
         "StopTaskCachedChangesNotApplied are both true; allowed: at most one of them true"),
        ({"ValidationSettings": {"ValidationOnly": True}},
         'ValidationSettings.ValidationOnly: a validation-only task must leave target tables alone, but '
         'FullLoadSettings.TargetTablePrepMode is "DROP_AND_CREATE"; allowed: TargetTablePrepMode "DO_NOTHING" '
         'with ValidationOnly true'),
        ({"ChangeProcessingTuning": {"BatchApplyTimeoutMin": 40}},
         "ChangeProcessingTuning.BatchApplyTimeoutMax: got 30, below BatchApplyTimeoutMin 40; allowed: an integer "
         "of at least 40"),
        ("[1, 2]", "(document): got an array; allowed: a JSON object of task-settings groups such as "
                   '{"TargetMetadata": {...}}'),
        ('{"TargetMetadata": {', "(document): not valid JSON: Expecting property name enclosed in double quotes "
                                 "at line 1 column 21; allowed: a JSON object of task-settings groups"),
    ],
)
def test_it_reports_each_wrong_value_with_path_and_what_is_allowed(document, expected) -> None:
    assert messages(parse_task_settings(document).errors) == [expected]


def test_it_collects_every_error_of_a_document() -> None:
    result = parse_task_settings({
        "FullLoadSettings": {"MaxFullLoadSubTasks": 99, "CommitRate": 0},
        "ErrorBehavior": {"DataErrorPolicy": "PANIC"},
        "Logging": {"EnableLogging": "true"},
    })
    assert [p.path for p in result.errors] == [
        "FullLoadSettings.MaxFullLoadSubTasks", "FullLoadSettings.CommitRate", "Logging.EnableLogging",
        "ErrorBehavior.DataErrorPolicy"]


def test_it_accepts_a_valid_validation_only_task() -> None:
    result = parse_task_settings({"ValidationSettings": {"ValidationOnly": True, "EnableValidation": True},
                                  "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"}})
    assert result.errors == []


def test_it_warns_about_unknown_and_legacy_keys_and_keeps_them() -> None:
    result = parse_task_settings({"FullLoadSettings": {"ResumeEnabled": False, "Turbo": True},
                                  "Mystery": {"x": 1}})
    assert result.errors == []
    assert messages(result.warnings) == [
        "FullLoadSettings.ResumeEnabled: is a legacy setting older DMS versions returned; it is kept and ignored",
        "FullLoadSettings.Turbo: is not a FullLoadSettings setting this engine knows; it is kept and ignored. "
        "Known keys: TargetTablePrepMode, CreatePkAfterFullLoad, StopTaskCachedChangesApplied, "
        "StopTaskCachedChangesNotApplied, MaxFullLoadSubTasks, TransactionConsistencyTimeout, CommitRate",
        "Mystery: is not a task-settings group this engine knows; it is kept and ignored. Known groups: "
        "TargetMetadata, FullLoadSettings, Logging, ControlTablesSettings, StreamBufferSettings, "
        "ChangeProcessingTuning, ChangeProcessingDdlHandlingPolicy, ErrorBehavior, ValidationSettings, "
        "BeforeImageSettings, LoopbackPreventionSettings, CharacterSetSettings, TTSettings, PostProcessingRules, "
        "FailTaskWhenCleanTaskResourceFailed",
    ]
    assert list(result.document["FullLoadSettings"])[-2:] == ["ResumeEnabled", "Turbo"]
    assert result.document["Mystery"] == {"x": 1}


def test_it_warns_about_features_it_does_not_implement() -> None:
    result = parse_task_settings({
        "CharacterSetSettings": {"CharacterReplacements": []},
        "TTSettings": {"EnableTT": True},
        "TargetMetadata": {"InlineLobMaxSize": 10, "FullLobMode": True, "BatchApplyEnabled": True,
                           "ParallelApplyThreads": 4},
    })
    assert result.errors == []
    assert messages(result.warnings) == [
        "CharacterSetSettings: is set, but character substitution is not implemented; it is kept and ignored",
        "TTSettings.EnableTT: Time Travel logging to Amazon S3 is not implemented; it is ignored",
        "TargetMetadata.InlineLobMaxSize: inline LOB mode is not implemented; LOBs follow FullLobMode / "
        "LimitedSizeLobMode",
        "TargetMetadata.BatchApplyEnabled: DMS supports LOBs in batch apply only in limited LOB mode; tables with "
        "LOB columns are applied in transactional mode",
        "TargetMetadata.ParallelApplyThreads: applies to non-relational targets (DynamoDB, Kinesis, Kafka, "
        "OpenSearch, Redshift) only; it is ignored for database targets",
    ]


def test_it_fills_log_components_not_named_and_keeps_dms_order() -> None:
    result = parse_task_settings({"Logging": {"LogComponents": [
        {"Id": "VALIDATOR", "Severity": "LOGGER_SEVERITY_INFO"},
        {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_ERROR"}]}})
    components = result.document["Logging"]["LogComponents"]
    assert [c["Id"] for c in components] == COMPONENTS + ["VALIDATOR"]
    assert components[3] == {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_ERROR"}
    assert components[-1] == {"Id": "VALIDATOR", "Severity": "LOGGER_SEVERITY_INFO"}
    assert result.settings.logging.log_components["VALIDATOR"] == "LOGGER_SEVERITY_INFO"


def test_it_serialises_the_document_as_indented_json() -> None:
    text = parse_task_settings({"FullLoadSettings": {"CommitRate": 500}}).to_json_text()
    assert json.loads(text)["FullLoadSettings"]["CommitRate"] == 500
    assert text.startswith('{\n  "TargetMetadata": {\n    "TargetSchema": ""')
