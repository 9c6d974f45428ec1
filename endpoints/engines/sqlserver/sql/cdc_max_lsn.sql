-- The highest LSN the capture job has written to the change tables.
SELECT sys.fn_cdc_get_max_lsn() AS max_lsn;
