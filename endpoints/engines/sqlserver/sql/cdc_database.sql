-- Is MS-CDC enabled for the connected database, and how is its log kept?
SELECT d.name AS database_name, d.is_cdc_enabled, d.recovery_model_desc
FROM sys.databases AS d
WHERE d.database_id = DB_ID();
