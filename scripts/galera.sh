# A three-node MariaDB Galera cluster on loopback for the tests and benchmarks (sourced, POSIX sh,
# after sqlservers.sh). Node N (1..3): SQL 127.0.0.1:1331(5+N), group communication 1456(6+N),
# state transfer 1444(3+N), incremental state transfer 1457(6+N); data in $SQLDIR/galeraN.
# Small in memory: 32 MB buffer pool, 16 MB gcache, no performance schema.
#   galera_start       bootstraps node 1, joins 2 and 3, creates the vpopmail user
#   galera_node N      starts node N again (joins the running cluster)
#   galera_kill N      SIGKILL to node N's server (what a crash or power loss does)
#   galera_stop        stops every node
galera_port() { echo $((13315 + $1)); }

galera_node() {
  n=$1
  d=$SQLDIR/galera$n
  new=""
  [ "${2:-}" = new ] && new="--wsrep-new-cluster"
  # The nodes run as the mysql user: the joiner's rsync daemon (state transfer) then writes
  # the data as the server's own user.
  mkdir -p "$d" && chown mysql:mysql "$d"
  if [ ! -d "$d/data/mysql" ] && [ -n "$new" ]; then
    mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$d/install.log" 2>&1
  fi
  mkdir -p "$d/data" && chown mysql:mysql "$d/data"
  cat > "$d/my.cnf" <<EOF
[mariadbd]
user=mysql
datadir=$d/data
socket=$d/mysqld.sock
pid-file=$d/mariadbd.pid
port=$(galera_port "$n")
bind-address=127.0.0.1
log-error=$d/error.log
skip-name-resolve
performance-schema=OFF
innodb-buffer-pool-size=32M
innodb-log-file-size=16M
innodb-flush-log-at-trx-commit=2
binlog-format=ROW
default-storage-engine=InnoDB
innodb-autoinc-lock-mode=2
max-connections=200
wsrep-on=ON
wsrep-provider=/usr/lib/galera/libgalera_smm.so
wsrep-cluster-name=vpop-test
wsrep-cluster-address=gcomm://127.0.0.1:14567,127.0.0.1:14568,127.0.0.1:14569
wsrep-node-name=node$n
wsrep-node-address=127.0.0.1:$((14566 + n))
wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$((14566 + n));ist.recv_addr=127.0.0.1:$((14576 + n));gcache.size=16M;evs.keepalive_period=PT0.5S;evs.inactive_timeout=PT3S;evs.suspect_timeout=PT2S;pc.wait_prim_timeout=PT10S
wsrep-sst-method=rsync
wsrep-sst-receive-address=127.0.0.1:$((14443 + n))
wsrep-slave-threads=2
EOF
  mariadbd --defaults-file="$d/my.cnf" $new >/dev/null 2>&1 &
  echo $! > "$d/launcher.pid"
  # Ready when the node is synced with the cluster (a joiner first receives the state).
  for _ in $(seq 1 300); do
    s=$(mariadb --no-defaults --socket="$d/mysqld.sock" -u root -N -B -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)
    [ "$s" = Synced ] && return 0
    kill -0 "$(cat "$d/launcher.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "galera node $n did not start; see $d/error.log" >&2
  return 1
}

galera_start() {
  galera_stop
  mkdir -p "$SQLDIR"
  for n in 1 2 3; do rm -rf "$SQLDIR/galera$n"; done
  galera_node 1 new || return 1
  mariadb --no-defaults --socket="$SQLDIR/galera1/mysqld.sock" -u root -e "
    CREATE USER IF NOT EXISTS 'vpopmail'@'localhost' IDENTIFIED BY 'vpoppw';
    CREATE USER IF NOT EXISTS 'vpopmail'@'127.0.0.1' IDENTIFIED BY 'vpoppw';
    GRANT ALL ON *.* TO 'vpopmail'@'localhost';
    GRANT ALL ON *.* TO 'vpopmail'@'127.0.0.1';" || return 1
  galera_node 2 && galera_node 3 || return 1
  cat >> "$SQLDIR/env" <<EOF
VPOP_TEST_GALERA=127.0.0.1|$(galera_port 1)|vpopmail|vpoppw
VPOP_TEST_GALERA_NODES=$(galera_port 1),$(galera_port 2),$(galera_port 3)
VPOP_TEST_GALERA_DIR=$SQLDIR
EOF
}

galera_kill() {
  f=$SQLDIR/galera$1/mariadbd.pid
  [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  sql_wait_gone "$SQLDIR/galera$1/launcher.pid"
}

galera_stop() {
  for n in 3 2 1; do
    if [ -S "$SQLDIR/galera$n/mysqld.sock" ]; then
      mariadb-admin --no-defaults --socket="$SQLDIR/galera$n/mysqld.sock" -u root shutdown >/dev/null 2>&1 || true
    fi
    sql_wait_gone "$SQLDIR/galera$n/launcher.pid"
  done
}
