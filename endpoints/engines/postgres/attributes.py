"""The extra connection attributes a PostgreSQL endpoint accepts (DMS names, plus publicationName)."""

from __future__ import annotations

from types import MappingProxyType

EXTRA_ATTRIBUTES = MappingProxyType({
    "slotName": "Use this existing logical replication slot for CDC instead of creating one per task.",
    "pluginName": "Logical decoding plugin: no-preference, test-decoding or pglogical "
                  "(this engine decodes pgoutput; other values are reported, not used).",
    "publicationName": "Use this existing publication for CDC instead of creating one (our addition to DMS).",
    "heartbeatEnable": "Y/N: write a small heartbeat transaction so an idle slot does not pin WAL (default N).",
    "heartbeatFrequency": "Minutes between heartbeat transactions (default 5).",
    "heartbeatSchema": "Schema of the heartbeat table (default public).",
    "captureDdls": "Y/N: capture DDL with an event trigger and audit table on the source (default Y).",
    "ddlArtifactsSchema": "Schema of the DDL capture table, function and event trigger (default public).",
    "executeTimeout": "Statement timeout in seconds for catalog and DDL statements (default 60).",
    "mapBooleanAsBoolean": "Y/N: carry boolean as BOOLEAN instead of STRING(5) 'true'/'false' "
                           "(set on both endpoints; default N).",
    "mapJsonbAsClob": "Y/N: map json, jsonb, arrays, composites and hstore to CLOB instead of NCLOB (default N).",
    "mapLongVarcharAs": "DMS type for character varying without a length: wstring (WSTRING(8000), default), "
                        "clob or nclob.",
    "afterConnectScript": "SQL run on every session after connecting, e.g. SET session_replication_role='replica'.",
    "failTasksOnLobTruncation": "Y/N: fail the task instead of truncating a LOB longer than the LOB limit "
                                "(default N).",
    "logicalDecodingWorkMem": "Kilobytes the source decodes of one transaction before it streams it to "
                              "the task while still in progress (PostgreSQL 14+; default: the server's "
                              "logical_decoding_work_mem; our addition to DMS).",
    "maxFileSize": "Kilobytes of data per bulk-load chunk when PostgreSQL is the target (default 32768).",
})
