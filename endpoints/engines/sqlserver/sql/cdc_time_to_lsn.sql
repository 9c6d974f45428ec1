-- Start from a time: the last commit before it counts as processed, so changes committed at or after it
-- are streamed. 0x00000000000000000000 when nothing was committed before it. The parameter is UTC;
-- cdc.lsn_time_mapping holds server local time, so it is shifted by the server's current UTC offset.
SELECT sys.fn_cdc_map_time_to_lsn(N'largest less than',
    DATEADD(minute, DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), CAST(? AS datetime2(3)))) AS lsn;
