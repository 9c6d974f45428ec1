-- Is SQL Server Agent (which runs the MS-CDC capture and cleanup jobs) running? Needs VIEW SERVER STATE.
SELECT s.status_desc
FROM sys.dm_server_services AS s
WHERE s.servicename LIKE N'SQL Server Agent%';
