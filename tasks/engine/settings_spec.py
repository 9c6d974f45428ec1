"""What a DMS task-settings document may hold: every group, key, allowed value and default.

Defaults and key order are DMS's (a task created with no settings, as the service echoes
it back; see docs/reference dms.md §3.1). The order matters: an enriched document is
written in this order, so saving an unchanged document gives identical JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .problems import json_kind, show

# ---- value kinds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bool:
    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def allowed(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Int:
    low: int | None = None
    high: int | None = None

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def allowed(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an integer from {self.low} to {self.high}"
        if self.low is not None:
            return f"an integer of at least {self.low}"
        return "an integer"


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def allowed(self) -> str:
        return "one of " + ", ".join(self.values)


@dataclass(frozen=True)
class Text:
    nullable: bool = False

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) or (self.nullable and value is None)

    def allowed(self) -> str:
        return "a string or null" if self.nullable else "a string"


@dataclass(frozen=True)
class ObjectOrNull:
    def accepts(self, value: Any) -> bool:
        return value is None or isinstance(value, dict)

    def allowed(self) -> str:
        return "an object or null"


Kind = Bool | Int | Choice | Text | ObjectOrNull


def describe_bad_value(kind: Kind, value: Any) -> str:
    """'got "8" (a string); allowed: an integer from 1 to 49'."""
    same_type = (isinstance(kind, Int) and isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(kind, Choice) and isinstance(value, str))
    got = f"got {show(value)}" if same_type or value is None else f"got {show(value)} ({json_kind(value)})"
    return f"{got}; allowed: {kind.allowed()}"


# ---- groups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    keys: dict[str, tuple[Kind, Any]]  # key -> (kind, DMS default), in DMS's order
    optional: dict[str, Kind] = field(default_factory=dict)  # known keys DMS does not fill in
    legacy: tuple[str, ...] = ()  # keys older services returned: kept, ignored, warned about


@dataclass(frozen=True)
class Scalar:
    kind: Kind
    default: Any


B, I0 = Bool(), Int(0)
DATA_POLICIES = ("IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK")
PREP_MODES = ("DO_NOTHING", "DROP_AND_CREATE", "TRUNCATE_BEFORE_LOAD")

# Logging component ids in the order DMS returns them; VALIDATOR is documented but not returned.
LOG_COMPONENT_IDS = (
    "TRANSFORMATION", "SOURCE_UNLOAD", "IO", "TARGET_LOAD", "PERFORMANCE", "SOURCE_CAPTURE", "SORTER",
    "REST_SERVER", "VALIDATOR_EXT", "TARGET_APPLY", "TASK_MANAGER", "TABLES_MANAGER", "METADATA_MANAGER",
    "FILE_FACTORY", "COMMON", "ADDONS", "DATA_STRUCTURE", "COMMUNICATION", "FILE_TRANSFER",
)
EXTRA_LOG_COMPONENT_IDS = ("VALIDATOR",)
LOG_SEVERITIES = (
    "LOGGER_SEVERITY_ERROR", "LOGGER_SEVERITY_WARNING", "LOGGER_SEVERITY_INFO", "LOGGER_SEVERITY_DEFAULT",
    "LOGGER_SEVERITY_DEBUG", "LOGGER_SEVERITY_DETAILED_DEBUG",
)
DEFAULT_SEVERITY = "LOGGER_SEVERITY_DEFAULT"


class LogComponentsKind:
    """Marker kind: `Logging.LogComponents` is checked item by item in settings.py."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)

    def allowed(self) -> str:
        return 'an array of {"Id": <component>, "Severity": <severity>} objects'


LOG_COMPONENTS = LogComponentsKind()

TARGET_METADATA = Group({
    "TargetSchema": (Text(), ""),
    "SupportLobs": (B, True),
    "FullLobMode": (B, False),
    "LobChunkSize": (Int(1), 64),
    "LimitedSizeLobMode": (B, True),
    "LobMaxSize": (Int(0, 102400), 32),
    "InlineLobMaxSize": (Int(0, 102400), 0),
    "LoadMaxFileSize": (Int(0, 100000), 0),
    "ParallelLoadThreads": (Int(0, 200), 0),
    "ParallelLoadBufferSize": (Int(0, 1000), 0),
    "ParallelLoadQueuesPerThread": (I0, 0),
    "ParallelApplyThreads": (Int(0, 32), 0),
    "ParallelApplyBufferSize": (I0, 0),
    "ParallelApplyQueuesPerThread": (I0, 0),
    "BatchApplyEnabled": (B, False),
    "TaskRecoveryTableEnabled": (B, False),
})

FULL_LOAD_SETTINGS = Group(
    {
        "TargetTablePrepMode": (Choice(PREP_MODES), "DROP_AND_CREATE"),
        "CreatePkAfterFullLoad": (B, False),
        "StopTaskCachedChangesApplied": (B, False),
        "StopTaskCachedChangesNotApplied": (B, False),
        "MaxFullLoadSubTasks": (Int(1, 49), 8),
        "TransactionConsistencyTimeout": (I0, 600),
        "CommitRate": (Int(1, 50000), 10000),
    },
    legacy=("FullLoadEnabled", "ApplyChangesEnabled", "ResumeEnabled", "ResumeMinTableSize",
            "ResumeOnlyClusteredPKTables"),
)

LOGGING = Group(
    {
        "EnableLogging": (B, False),
        "EnableLogContext": (B, False),
        "LogComponents": (LOG_COMPONENTS, [{"Id": i, "Severity": DEFAULT_SEVERITY} for i in LOG_COMPONENT_IDS]),
    },
    optional={"CloudWatchLogGroup": Text(nullable=True), "CloudWatchLogStream": Text(nullable=True),
              "DeleteTaskLogs": B},
)

CONTROL_TABLES_SETTINGS = Group(
    {
        "ControlSchema": (Text(), ""),
        "HistoryTimeslotInMinutes": (Int(1), 5),
        "HistoryTableEnabled": (B, False),
        "SuspendedTablesTableEnabled": (B, False),
        "StatusTableEnabled": (B, False),
        "FullLoadExceptionTableEnabled": (B, False),
    },
    legacy=("CommitPositionTableEnabled",),
)

STREAM_BUFFER_SETTINGS = Group({
    "StreamBufferCount": (Int(1), 3),
    "StreamBufferSizeInMB": (Int(1), 8),
    "CtrlStreamBufferSizeInMB": (Int(1, 8), 5),
})

CHANGE_PROCESSING_TUNING = Group({
    "BatchApplyPreserveTransaction": (B, True),
    "BatchApplyTimeoutMin": (I0, 1),
    "BatchApplyTimeoutMax": (I0, 30),
    "BatchApplyMemoryLimit": (Int(1), 500),
    "BatchSplitSize": (I0, 0),
    "MinTransactionSize": (Int(1), 1000),
    "CommitTimeout": (Int(1), 1),
    "MemoryLimitTotal": (Int(1), 1024),
    "MemoryKeepTime": (I0, 60),
    "StatementCacheSize": (Int(0, 200), 50),
    "RecoveryTimeout": (Int(-1), -1),
})

DDL_HANDLING_POLICY = Group({
    "HandleSourceTableDropped": (B, True),
    "HandleSourceTableTruncated": (B, True),
    "HandleSourceTableAltered": (B, True),
})

ERROR_BEHAVIOR = Group({
    "DataErrorPolicy": (Choice(DATA_POLICIES), "LOG_ERROR"),
    "DataTruncationErrorPolicy": (Choice(DATA_POLICIES), "LOG_ERROR"),
    "DataMaskingErrorPolicy": (Choice(DATA_POLICIES), "STOP_TASK"),
    "DataErrorEscalationPolicy": (Choice(("SUSPEND_TABLE", "STOP_TASK")), "SUSPEND_TABLE"),
    "DataErrorEscalationCount": (I0, 0),
    "TableErrorPolicy": (Choice(("SUSPEND_TABLE", "STOP_TASK")), "SUSPEND_TABLE"),
    "TableErrorEscalationPolicy": (Choice(("STOP_TASK",)), "STOP_TASK"),
    "TableErrorEscalationCount": (I0, 0),
    "RecoverableErrorCount": (Int(-1), -1),
    "RecoverableErrorInterval": (I0, 5),
    "RecoverableErrorThrottling": (B, True),
    "RecoverableErrorThrottlingMax": (I0, 1800),
    "RecoverableErrorStopRetryAfterThrottlingMax": (B, True),
    "ApplyErrorDeletePolicy": (Choice(DATA_POLICIES), "IGNORE_RECORD"),
    "ApplyErrorInsertPolicy": (Choice(DATA_POLICIES + ("INSERT_RECORD",)), "LOG_ERROR"),
    "ApplyErrorUpdatePolicy": (Choice(DATA_POLICIES + ("UPDATE_RECORD",)), "LOG_ERROR"),
    "ApplyErrorEscalationPolicy": (Choice(("LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK")), "LOG_ERROR"),
    "ApplyErrorEscalationCount": (I0, 0),
    "ApplyErrorFailOnTruncationDdl": (B, False),
    "FullLoadIgnoreConflicts": (B, True),
    "FailOnTransactionConsistencyBreached": (B, False),
    "FailOnNoTablesCaptured": (B, True),
    "EventErrorPolicy": (Choice(("IGNORE", "STOP_TASK")), "IGNORE"),
})

VALIDATION_SETTINGS = Group({
    "EnableValidation": (B, False),
    "ValidationMode": (Choice(("ROW_LEVEL",)), "ROW_LEVEL"),
    "ThreadCount": (Int(1), 5),
    "PartitionSize": (Int(1), 10000),
    "FailureMaxCount": (I0, 10000),
    "RecordFailureDelayInMinutes": (I0, 5),
    "RecordSuspendDelayInMinutes": (I0, 30),
    "MaxKeyColumnSize": (Int(1), 8096),
    "TableFailureMaxCount": (I0, 1000),
    "ValidationOnly": (B, False),
    "HandleCollationDiff": (B, False),
    "RecordFailureDelayLimitInMinutes": (I0, 0),
    "SkipLobColumns": (B, False),
    "ValidationPartialLobSize": (I0, 0),
    "ValidationQueryCdcDelaySeconds": (I0, 0),
})

TT_SETTINGS = Group({
    "EnableTT": (B, False),
    "TTS3Settings": (ObjectOrNull(), None),
    "TTRecordSettings": (ObjectOrNull(), None),
})

# Groups this engine does not implement: accepted (null by default), warned about when set.
UNSUPPORTED_GROUPS = {
    "BeforeImageSettings": "before-image columns apply to streaming targets (Kinesis, Kafka) only",
    "LoopbackPreventionSettings": "loopback prevention for bidirectional replication is not implemented",
    "CharacterSetSettings": "character substitution is not implemented",
    "PostProcessingRules": "post-processing rules apply to Amazon S3 targets only",
}

TOP_LEVEL: dict[str, Group | Scalar] = {
    "TargetMetadata": TARGET_METADATA,
    "FullLoadSettings": FULL_LOAD_SETTINGS,
    "Logging": LOGGING,
    "ControlTablesSettings": CONTROL_TABLES_SETTINGS,
    "StreamBufferSettings": STREAM_BUFFER_SETTINGS,
    "ChangeProcessingTuning": CHANGE_PROCESSING_TUNING,
    "ChangeProcessingDdlHandlingPolicy": DDL_HANDLING_POLICY,
    "ErrorBehavior": ERROR_BEHAVIOR,
    "ValidationSettings": VALIDATION_SETTINGS,
    "BeforeImageSettings": Scalar(ObjectOrNull(), None),
    "LoopbackPreventionSettings": Scalar(ObjectOrNull(), None),
    "CharacterSetSettings": Scalar(ObjectOrNull(), None),
    "TTSettings": TT_SETTINGS,
    "PostProcessingRules": Scalar(ObjectOrNull(), None),
    "FailTaskWhenCleanTaskResourceFailed": Scalar(B, False),
}
