-- One poll of the change tables: the highest LSN the capture job has harvested (NULL before its first
-- run) and the server's current offset from UTC in minutes, to turn cdc.lsn_time_mapping's local times
-- (what sys.fn_cdc_map_lsn_to_time returns) into UTC.
SELECT sys.fn_cdc_get_max_lsn() AS max_lsn, DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS utc_offset_minutes;
