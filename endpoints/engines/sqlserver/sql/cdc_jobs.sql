-- The database's MS-CDC jobs: capture polling interval (seconds) and cleanup retention (minutes).
SELECT j.job_type, j.pollinginterval, j.retention
FROM msdb.dbo.cdc_jobs AS j
WHERE j.database_id = DB_ID();
