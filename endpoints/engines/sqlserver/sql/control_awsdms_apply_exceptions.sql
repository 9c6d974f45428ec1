CREATE TABLE {table} (
    [TASK_NAME] varchar(255) NOT NULL,
    [TABLE_OWNER] nvarchar(128) NOT NULL,
    [TABLE_NAME] nvarchar(128) NOT NULL,
    [ERROR_TIME] datetime2(6) NOT NULL,
    [STATEMENT] nvarchar(max) NOT NULL,
    [ERROR] nvarchar(max) NOT NULL
);
