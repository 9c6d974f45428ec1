#!/usr/bin/env bash
# Make sure the services the tests need are up and configured for change data capture:
#   PostgreSQL  wal_level=logical, enough replication slots and WAL senders
#   MariaDB     log_bin, binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL, server_id
#   Redis       answering
# and that the Debian packages the tests use are installed (Chromium for Playwright,
# unixODBC + FreeTDS for SQL Server). Restarts a server only when a setting needs it.
# Idempotent: a second run changes nothing. Needs root for installs and restarts.
set -euo pipefail

PGHOST_=${DMS_TEST_PGHOST:-127.0.0.1}
MYHOST_=${DMS_TEST_MYHOST:-127.0.0.1}

say() { printf '[services] %s\n' "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }

install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root; then
    say "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 1
  fi
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

wait_for() {  # wait_for <seconds> <command...>
  local limit=$1; shift
  for _ in $(seq "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

# ---------------------------------------------------------------- PostgreSQL
pg_sql() { psql -X -q -t -A -h "$PGHOST_" -U postgres -d postgres -c "$1"; }

pg_start() {
  local version
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main "$1" >/dev/null
}

ensure_postgres() {
  if ! wait_for 2 pg_sql "select 1"; then
    say "PostgreSQL not answering: starting it"
    pg_start start || true
    wait_for 30 pg_sql "select 1" || { say "PostgreSQL did not start"; exit 1; }
  fi
  local restart=0
  declare -A want=([wal_level]=logical [max_replication_slots]=64 [max_wal_senders]=64 [max_connections]=400)
  for key in "${!want[@]}"; do
    local have
    have=$(pg_sql "show $key")
    if [ "$have" != "${want[$key]}" ]; then
      if [ "$key" != wal_level ] && [ "$have" -ge "${want[$key]}" ] 2>/dev/null; then continue; fi
      say "PostgreSQL $key=$have -> ${want[$key]}"
      pg_sql "alter system set $key = '${want[$key]}'"
      restart=1
    fi
  done
  if [ $restart = 1 ]; then
    is_root || { say "PostgreSQL needs a restart (as root) for the settings above"; exit 1; }
    say "restarting PostgreSQL"
    pg_start restart
    wait_for 30 pg_sql "select 1" || { say "PostgreSQL did not come back"; exit 1; }
  fi
  ensure_pg_password_role
  say "PostgreSQL ready (wal_level=$(pg_sql 'show wal_level'))"
}

# The local server trusts every login, so a wrong password could never fail there. One role,
# dms_pwcheck, must give its password (scram), so tests can show how a bad password is reported.
ensure_pg_password_role() {
  local hba
  hba=$(pg_sql "show hba_file")
  pg_sql "do \$\$ begin if not exists (select from pg_roles where rolname = 'dms_pwcheck') then
            create role dms_pwcheck login password 'dms-pwcheck-secret'; end if; end \$\$"
  if ! grep -q "dms_pwcheck" "$hba" 2>/dev/null; then
    is_root || { say "cannot edit $hba (not root): the bad-password test will be skipped"; return 0; }
    local tmp
    tmp=$(mktemp)
    { echo "host all dms_pwcheck 127.0.0.1/32 scram-sha-256  # DMS console tests: a password-checked role"
      echo "host all dms_pwcheck ::1/128 scram-sha-256"
      cat "$hba"; } > "$tmp"
    cat "$tmp" > "$hba" && rm -f "$tmp"
    pg_sql "select pg_reload_conf()" >/dev/null
    say "PostgreSQL: role dms_pwcheck now needs its password"
  fi
}

# ---------------------------------------------------------------- MariaDB
my_sql() { mariadb -h "$MYHOST_" -u root -N -B -e "$1"; }

mariadb_start() {
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for 60 my_sql "select 1"
}

ensure_mariadb() {
  if ! wait_for 2 my_sql "select 1"; then
    say "MariaDB not answering: starting it"
    mariadb_start || { say "MariaDB did not start"; exit 1; }
  fi
  local state
  state=$(my_sql "select concat_ws(',', @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@server_id, @@local_infile)")
  if [ "$state" = "ON,ROW,FULL,FULL,1,ON" ]; then
    say "MariaDB ready (binlog ROW/FULL/FULL)"
    return 0
  fi
  say "MariaDB binlog settings are '$state': configuring"
  is_root || { say "MariaDB needs configuring and a restart (as root)"; exit 1; }
  local conf=/etc/mysql/conf.d/dms-cdc.cnf
  mkdir -p /etc/mysql/conf.d
  cat > "$conf" <<'CNF'
# Written by the DMS console's scripts/services.sh: row-based binlog for change data capture.
[mysqld]
server_id = 1
log_bin = /var/lib/mysql/mysql-bin
binlog_format = ROW
binlog_row_image = FULL
binlog_row_metadata = FULL
expire_logs_days = 2
local_infile = 1
max_connections = 500
CNF
  grep -q '^!includedir /etc/mysql/conf.d' /etc/mysql/my.cnf || printf '\n!includedir /etc/mysql/conf.d/\n' >> /etc/mysql/my.cnf
  say "restarting MariaDB"
  mariadb-admin -h "$MYHOST_" -u root shutdown || true
  for _ in $(seq 60); do pgrep -x mariadbd >/dev/null || break; sleep 1; done
  mariadb_start || { say "MariaDB did not come back; see /var/log/mysql/error.log"; exit 1; }
  state=$(my_sql "select concat_ws(',', @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata)")
  [ "$state" = "ON,ROW,FULL,FULL" ] || { say "MariaDB still reports '$state'"; exit 1; }
  say "MariaDB ready (binlog ROW/FULL/FULL)"
}

# ---------------------------------------------------------------- Redis
ensure_redis() {
  if redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then say "Redis ready"; return 0; fi
  say "Redis not answering: starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 20 redis-cli -h 127.0.0.1 ping || { say "Redis did not start"; exit 1; }
  say "Redis ready"
}

install_packages chromium chromium-driver unixodbc tdsodbc postgresql-client mariadb-client
ensure_postgres
ensure_mariadb
ensure_redis
