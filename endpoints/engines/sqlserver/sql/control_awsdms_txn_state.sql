CREATE TABLE {table} (
    [TASK_NAME] varchar(255) NOT NULL PRIMARY KEY,
    [CHECKPOINT] nvarchar(max) NOT NULL,
    [COMMIT_POSITION] varchar(64) NULL,
    [COMMIT_TIME] datetime2(6) NULL,
    [UPDATED_AT] datetime2(6) NOT NULL
);
