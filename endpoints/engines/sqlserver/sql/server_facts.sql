-- What Test connection reports and checks: the server, the database and the login's rights in it.
SELECT
    @@VERSION AS version_text,
    CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
    CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
    d.name AS database_name,
    d.is_cdc_enabled,
    d.recovery_model_desc,
    d.snapshot_isolation_state_desc,
    SUSER_SNAME() AS login_name,
    IS_SRVROLEMEMBER('sysadmin') AS is_sysadmin,
    IS_ROLEMEMBER('db_owner') AS is_db_owner,
    HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS view_server_state,
    HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW DATABASE STATE') AS view_database_state,
    HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW DEFINITION') AS view_definition,
    HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'SELECT') AS can_select,
    HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE TABLE') AS can_create_table
FROM sys.databases AS d
WHERE d.database_id = DB_ID();
