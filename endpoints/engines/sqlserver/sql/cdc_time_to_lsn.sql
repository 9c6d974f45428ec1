-- Start from a time: the last commit before it counts as processed, so changes committed at or after it
-- are streamed. 0x00000000000000000000 when nothing was committed before it.
SELECT sys.fn_cdc_map_time_to_lsn(N'largest less than', ?) AS lsn;
