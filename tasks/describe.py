"""Replication tasks and table statistics in the JSON shapes the AWS CLI prints (DMS API 2016-01-01).

Keys are DMS's; keys without a value are left out, as the AWS CLI does; times are
ISO 8601 with the UTC offset, as the AWS CLI prints them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitoring.models import TableStatistics

from .arns import endpoint_arn, instance_arn, task_arn
from .models import ReplicationTask


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != ""}


def describe_task(task: ReplicationTask, *, with_settings: bool = True) -> dict[str, Any]:
    stats = _compact({
        "FullLoadProgressPercent": task.full_load_progress_percent,
        "ElapsedTimeMillis": task.elapsed_millis,
        "TablesLoaded": task.tables_loaded,
        "TablesLoading": task.tables_loading,
        "TablesQueued": task.tables_queued,
        "TablesErrored": task.tables_errored,
        "FreshStartDate": _time(task.fresh_start_date),
        "StartDate": _time(task.start_date),
        "StopDate": _time(task.stop_date),
        "FullLoadStartDate": _time(task.full_load_start_date),
        "FullLoadFinishDate": _time(task.full_load_finish_date),
    })
    shape = {
        "ReplicationTaskIdentifier": task.identifier,
        "SourceEndpointArn": endpoint_arn(task.source),
        "TargetEndpointArn": endpoint_arn(task.target),
        "ReplicationInstanceArn": instance_arn(task.instance),
        "MigrationType": task.migration_type,
        "TableMappings": task.table_mappings if with_settings else None,
        "ReplicationTaskSettings": task.task_settings if with_settings else None,
        "Status": task.status,
        "LastFailureMessage": task.last_failure_message,
        "StopReason": task.stop_reason,
        "ReplicationTaskCreationDate": _time(task.created_at),
        "ReplicationTaskStartDate": _time(task.start_date),
        "CdcStartPosition": task.cdc_start_position,
        "CdcStartTime": _time(task.cdc_start_time),
        "CdcStopPosition": task.cdc_stop_position,
        "RecoveryCheckpoint": task.recovery_checkpoint,
        "ReplicationTaskArn": task_arn(task),
        "ReplicationTaskStats": stats,
    }
    return _compact(shape)


def describe_table(row: TableStatistics) -> dict[str, Any]:
    return _compact({
        "SchemaName": row.schema_name,
        "TableName": row.table_name,
        "Inserts": row.inserts,
        "Deletes": row.deletes,
        "Updates": row.updates,
        "Ddls": row.ddls,
        "AppliedInserts": row.inserts,
        "AppliedDeletes": row.deletes,
        "AppliedUpdates": row.updates,
        "AppliedDdls": row.ddls,
        "FullLoadRows": row.full_load_rows,
        "FullLoadCondtnlChkFailedRows": 0,
        "FullLoadErrorRows": 0,
        "FullLoadStartTime": _time(row.full_load_start_time),
        "FullLoadEndTime": _time(row.full_load_end_time),
        "FullLoadReloaded": row.full_load_reloaded,
        "LastUpdateTime": _time(row.last_update_time),
        "TableState": row.table_state,
        "ValidationPendingRecords": 0,
        "ValidationFailedRecords": 0,
        "ValidationSuspendedRecords": 0,
        "ValidationState": row.validation_state,
    })
