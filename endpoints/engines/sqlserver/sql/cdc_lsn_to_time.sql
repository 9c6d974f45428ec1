-- The commit time of an LSN (cdc.lsn_time_mapping).
SELECT sys.fn_cdc_map_lsn_to_time(CAST(? AS binary(10))) AS commit_time;
