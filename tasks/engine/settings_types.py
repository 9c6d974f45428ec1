"""Typed, read-only views of the task-settings groups the engine uses.

Field names are the DMS keys in snake_case (`LobMaxSize` -> `lob_max_size`) and every
default is DMS's, so `TaskSettings()` is the settings of a task created with none.
A test keeps these in step with `settings_spec`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from endpoints.engines.plan import PrepMode

from .settings_spec import DEFAULT_SEVERITY, LOG_COMPONENT_IDS


def snake_case(key: str) -> str:
    """'CtrlStreamBufferSizeInMB' -> 'ctrl_stream_buffer_size_in_mb'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key).lower()


@dataclass(frozen=True)
class TargetMetadata:
    target_schema: str = ""
    support_lobs: bool = True
    full_lob_mode: bool = False
    lob_chunk_size: int = 64  # KB
    limited_size_lob_mode: bool = True
    lob_max_size: int = 32  # KB
    inline_lob_max_size: int = 0  # KB
    load_max_file_size: int = 0  # KB
    parallel_load_threads: int = 0
    parallel_load_buffer_size: int = 0
    parallel_load_queues_per_thread: int = 0
    parallel_apply_threads: int = 0
    parallel_apply_buffer_size: int = 0
    parallel_apply_queues_per_thread: int = 0
    batch_apply_enabled: bool = False
    task_recovery_table_enabled: bool = False


@dataclass(frozen=True)
class FullLoadSettings:
    # DMS's user-guide example shows DO_NOTHING, but the service fills DROP_AND_CREATE.
    target_table_prep_mode: PrepMode = PrepMode.DROP_AND_CREATE
    create_pk_after_full_load: bool = False
    stop_task_cached_changes_applied: bool = False
    stop_task_cached_changes_not_applied: bool = False
    max_full_load_sub_tasks: int = 8
    transaction_consistency_timeout: int = 600  # seconds
    commit_rate: int = 10000


def _default_components() -> Mapping[str, str]:
    return MappingProxyType({component: DEFAULT_SEVERITY for component in LOG_COMPONENT_IDS})


@dataclass(frozen=True)
class LoggingSettings:
    enable_logging: bool = False
    enable_log_context: bool = False
    log_components: Mapping[str, str] = field(default_factory=_default_components)  # Id -> Severity


@dataclass(frozen=True)
class ControlTablesSettings:
    control_schema: str = ""
    history_timeslot_in_minutes: int = 5
    history_table_enabled: bool = False
    suspended_tables_table_enabled: bool = False
    status_table_enabled: bool = False
    full_load_exception_table_enabled: bool = False


@dataclass(frozen=True)
class StreamBufferSettings:
    stream_buffer_count: int = 3
    stream_buffer_size_in_mb: int = 8
    ctrl_stream_buffer_size_in_mb: int = 5


@dataclass(frozen=True)
class ChangeProcessingTuning:
    batch_apply_preserve_transaction: bool = True
    batch_apply_timeout_min: int = 1  # seconds
    batch_apply_timeout_max: int = 30  # seconds
    batch_apply_memory_limit: int = 500  # MB
    batch_split_size: int = 0  # 0 = no limit
    min_transaction_size: int = 1000
    commit_timeout: int = 1  # seconds
    memory_limit_total: int = 1024  # MB
    memory_keep_time: int = 60  # seconds
    statement_cache_size: int = 50
    recovery_timeout: int = -1


@dataclass(frozen=True)
class DdlHandlingPolicy:
    handle_source_table_dropped: bool = True
    handle_source_table_truncated: bool = True
    handle_source_table_altered: bool = True


@dataclass(frozen=True)
class ErrorBehavior:
    data_error_policy: str = "LOG_ERROR"
    data_truncation_error_policy: str = "LOG_ERROR"
    data_masking_error_policy: str = "STOP_TASK"
    data_error_escalation_policy: str = "SUSPEND_TABLE"
    data_error_escalation_count: int = 0
    table_error_policy: str = "SUSPEND_TABLE"
    table_error_escalation_policy: str = "STOP_TASK"
    table_error_escalation_count: int = 0
    recoverable_error_count: int = -1
    recoverable_error_interval: int = 5
    recoverable_error_throttling: bool = True
    recoverable_error_throttling_max: int = 1800
    recoverable_error_stop_retry_after_throttling_max: bool = True
    apply_error_delete_policy: str = "IGNORE_RECORD"
    apply_error_insert_policy: str = "LOG_ERROR"
    apply_error_update_policy: str = "LOG_ERROR"
    apply_error_escalation_policy: str = "LOG_ERROR"
    apply_error_escalation_count: int = 0
    apply_error_fail_on_truncation_ddl: bool = False
    full_load_ignore_conflicts: bool = True
    fail_on_transaction_consistency_breached: bool = False
    fail_on_no_tables_captured: bool = True
    event_error_policy: str = "IGNORE"


@dataclass(frozen=True)
class ValidationSettings:
    enable_validation: bool = False
    validation_mode: str = "ROW_LEVEL"
    thread_count: int = 5
    partition_size: int = 10000
    failure_max_count: int = 10000
    record_failure_delay_in_minutes: int = 5
    record_suspend_delay_in_minutes: int = 30
    max_key_column_size: int = 8096
    table_failure_max_count: int = 1000
    validation_only: bool = False
    handle_collation_diff: bool = False
    record_failure_delay_limit_in_minutes: int = 0
    skip_lob_columns: bool = False
    validation_partial_lob_size: int = 0
    validation_query_cdc_delay_seconds: int = 0


@dataclass(frozen=True)
class TaskSettings:
    target_metadata: TargetMetadata = field(default_factory=TargetMetadata)
    full_load: FullLoadSettings = field(default_factory=FullLoadSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    control_tables: ControlTablesSettings = field(default_factory=ControlTablesSettings)
    stream_buffer: StreamBufferSettings = field(default_factory=StreamBufferSettings)
    change_processing: ChangeProcessingTuning = field(default_factory=ChangeProcessingTuning)
    ddl_handling: DdlHandlingPolicy = field(default_factory=DdlHandlingPolicy)
    error_behavior: ErrorBehavior = field(default_factory=ErrorBehavior)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    fail_task_when_clean_task_resource_failed: bool = False


# DMS group name -> (TaskSettings attribute, dataclass) for the groups read key by key.
TYPED_GROUPS: dict[str, tuple[str, type]] = {
    "TargetMetadata": ("target_metadata", TargetMetadata),
    "FullLoadSettings": ("full_load", FullLoadSettings),
    "ControlTablesSettings": ("control_tables", ControlTablesSettings),
    "StreamBufferSettings": ("stream_buffer", StreamBufferSettings),
    "ChangeProcessingTuning": ("change_processing", ChangeProcessingTuning),
    "ChangeProcessingDdlHandlingPolicy": ("ddl_handling", DdlHandlingPolicy),
    "ErrorBehavior": ("error_behavior", ErrorBehavior),
    "ValidationSettings": ("validation", ValidationSettings),
}
