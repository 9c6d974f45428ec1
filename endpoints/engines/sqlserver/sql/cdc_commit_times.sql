-- Commit time and transaction id of every commit LSN in a range (both ends included).
SELECT m.start_lsn, m.tran_begin_time, m.tran_end_time, m.tran_id
FROM cdc.lsn_time_mapping AS m
WHERE m.start_lsn BETWEEN CAST(? AS binary(10)) AND CAST(? AS binary(10));
