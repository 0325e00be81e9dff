# The SQL servers the tests and benchmarks use, on loopback only (sourced, POSIX sh):
#   MariaDB primary  127.0.0.1:13306 (binary log on, server-id 1; SQL_BUFFER_POOL: its buffer pool, 64M)
#   MariaDB replica  127.0.0.1:13307 (replicates the primary; the replication test stops it;
#                    SQL_REPLICA=n leaves it out, as the benchmarks do)
#   PostgreSQL       127.0.0.1:15432
#   Galera           127.0.0.1:13316-13318, three nodes (scripts/galera.sh; SQL_GALERA=n leaves it out)
# Data lives under $SQLDIR (default /tmp/vpop-sql). sql_start prints the variables the tests
# read (VPOP_TEST_MYSQL, VPOP_TEST_MYSQL_REPLICA, VPOP_TEST_PGSQL) into $SQLDIR/env.
SQLDIR=${SQLDIR:-/tmp/vpop-sql}
# PostgreSQL's programs (looked up when used: this file is sourced before the packages exist).
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

sql_packages="mariadb-server mariadb-client libmariadb-dev pkg-config postgresql libpq-dev postgresql-server-dev-15 zlib1g-dev libsqlite3-dev galera-4 rsync pgbouncer"

# sql_mariadb NAME PORT SERVERID: a fresh mariadbd with its data in $SQLDIR/NAME.
sql_mariadb() {
  d=$SQLDIR/$1
  rm -rf "$d"; mkdir -p "$d"
  mariadb-install-db --no-defaults --user=root --datadir="$d/data" --auth-root-authentication-method=socket \
    --skip-test-db >"$d/install.log" 2>&1
  mariadbd --no-defaults --user=root --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mariadbd.pid" \
    --port="$2" --bind-address=127.0.0.1 --log-error="$d/error.log" --innodb-buffer-pool-size=${SQL_BUFFER_POOL:-64M} \
    --server-id="$3" --log-bin="$d/binlog" --binlog-format=ROW --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 >/dev/null 2>&1 &
  echo $! > "$d/launcher.pid"
  for _ in $(seq 1 150); do
    mariadb-admin --no-defaults --socket="$d/mysqld.sock" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "mariadb $1 did not start; see $d/error.log" >&2
  return 1
}

sql_mysql_root() { mariadb --no-defaults --socket="$SQLDIR/$1/mysqld.sock" -u root -e "$2"; }

sql_start() {
  sql_stop
  mkdir -p "$SQLDIR" && chmod 0755 "$SQLDIR"   # the postgres user must reach $SQLDIR/pg
  sql_mariadb primary 13306 1
  # The test user may create databases (one per test site).
  sql_mysql_root primary "
    CREATE USER IF NOT EXISTS 'vpopmail'@'localhost' IDENTIFIED BY 'vpoppw';
    CREATE USER IF NOT EXISTS 'vpopmail'@'127.0.0.1' IDENTIFIED BY 'vpoppw';
    GRANT ALL ON *.* TO 'vpopmail'@'localhost';
    GRANT ALL ON *.* TO 'vpopmail'@'127.0.0.1';
    CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'replpw';
    GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';"
  if [ "${SQL_REPLICA:-y}" = y ]; then
  sql_mariadb replica 13307 2
  sql_mysql_root replica "
    CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=13306, MASTER_USER='repl', MASTER_PASSWORD='replpw',
      MASTER_USE_GTID=slave_pos;
    START SLAVE;"
  # The replica gets the users through replication; wait for them.
  for _ in $(seq 1 100); do
    mariadb --no-defaults -h 127.0.0.1 -P 13307 -u vpopmail -pvpoppw -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  fi

  p=$SQLDIR/pg
  PGBIN=$(pgbin)
  mkdir -p "$p" && chown postgres:postgres "$p"
  su postgres -s /bin/sh -c "$PGBIN/initdb -D $p/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >"$p/initdb.log" 2>&1
  su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $p/data -l $p/pg.log -w -o '-c listen_addresses=127.0.0.1 -p 15432 -k $p -c fsync=off -c max_connections=200' start" >/dev/null
  psql -q -h 127.0.0.1 -p 15432 -U postgres -c "CREATE ROLE vpopmail LOGIN CREATEDB PASSWORD 'vpoppw'" \
    -c "CREATE DATABASE vpopmail OWNER vpopmail" >/dev/null

  cat > "$SQLDIR/env" <<EOF
VPOP_TEST_MYSQL=127.0.0.1|13306|vpopmail|vpoppw
VPOP_TEST_MYSQL_REPLICA=127.0.0.1|13307|vpopmail|vpoppw|$SQLDIR/replica
VPOP_TEST_PGSQL=127.0.0.1|15432|vpopmail|vpoppw
EOF
  if [ "${SQL_GALERA:-y}" = y ]; then galera_start; fi
}

# sql_wait_gone PIDFILE: until the process has exited (a zombie counts as gone).
sql_wait_gone() {
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && return 0
    sleep 0.1
  done
}

sql_stop() {
  galera_stop
  for n in replica primary; do
    if [ -S "$SQLDIR/$n/mysqld.sock" ]; then
      mariadb-admin --no-defaults --socket="$SQLDIR/$n/mysqld.sock" -u root shutdown >/dev/null 2>&1 || true
    fi
    sql_wait_gone "$SQLDIR/$n/launcher.pid"
  done
  if [ -f "$SQLDIR/pg/data/postmaster.pid" ]; then
    PGBIN=$(pgbin)
    su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $SQLDIR/pg/data -m fast -w stop" >/dev/null 2>&1 || true
  fi
  rm -rf "$SQLDIR/pg"
}

# The Galera cluster (galera_start, galera_kill, ...), from the same folder.
. ./scripts/galera.sh
