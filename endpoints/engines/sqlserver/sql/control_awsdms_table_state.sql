CREATE TABLE {table} (
    [TASK_NAME] varchar(255) NOT NULL,
    [TABLE_OWNER] nvarchar(128) NOT NULL,
    [TABLE_NAME] nvarchar(128) NOT NULL,
    [STATE] varchar(32) NOT NULL,
    [SNAPSHOT_POSITION] nvarchar(max) NULL,
    [APPLIED_POSITION] nvarchar(max) NULL,
    [UPDATED_AT] datetime2(6) NOT NULL,
    PRIMARY KEY ([TASK_NAME], [TABLE_OWNER], [TABLE_NAME])
);
