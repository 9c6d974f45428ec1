-- The next commits of the database from an LSN on, in LSN order: tran_end_time is the value
-- sys.fn_cdc_map_lsn_to_time returns for that LSN (server local time), read here for many LSNs at once.
-- Parameters: how many, from LSN, to LSN (both included).
SELECT TOP (?) m.start_lsn, m.tran_begin_time, m.tran_end_time, m.tran_id
FROM cdc.lsn_time_mapping AS m
WHERE m.start_lsn BETWEEN CAST(? AS binary(10)) AND CAST(? AS binary(10))
ORDER BY m.start_lsn;
