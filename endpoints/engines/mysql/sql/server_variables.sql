-- The global settings change data capture depends on (absent variables are simply not returned).
SHOW GLOBAL VARIABLES WHERE Variable_name IN (
    'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'server_id',
    'binlog_expire_logs_seconds', 'expire_logs_days'
)
