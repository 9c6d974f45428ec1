-- What a CDC source needs, read in one round trip (test_connection, role source).
SELECT current_setting('wal_level') AS wal_level,
       current_setting('max_replication_slots')::int AS max_slots,
       (SELECT count(*) FROM pg_replication_slots)::int AS used_slots,
       current_setting('max_wal_senders')::int AS max_wal_senders,
       (SELECT count(*) FROM pg_stat_replication)::int AS used_wal_senders,
       (SELECT setting::int FROM pg_settings WHERE name = 'wal_sender_timeout') AS wal_sender_timeout_ms,
       r.rolsuper AS is_superuser,
       r.rolreplication AS has_replication,
       EXISTS (SELECT 1 FROM pg_roles g
               WHERE g.rolname = 'rds_replication' AND pg_has_role(current_user, g.oid, 'MEMBER')) AS rds_replication
FROM pg_roles r
WHERE r.rolname = current_user
