# A PostgreSQL primary and its streaming standby on loopback, for the failover test (sourced,
# POSIX sh, after sqlservers.sh). Each test makes its own pair, since it promotes the standby.
#   pg_pair_start DIR PRIMARY_PORT STANDBY_PORT   initdb, a vpopmail role and database, a
#                                                 pg_basebackup -R standby, both started
#   pg_pair_ctl DIR NAME ARGS...                  pg_ctl on NAME (primary, standby)
#   pg_pair_stop DIR                              stops both, removes DIR
pg_pair_ctl() {
  d=$1; n=$2; shift 2
  su postgres -s /bin/sh -c "$(pgbin)/pg_ctl -D $d/$n $*"
}

pg_pair_start() {
  d=$1; p1=$2; p2=$3
  PGBIN=$(pgbin)
  rm -rf "$d"; mkdir -p "$d" && chown postgres:postgres "$d" && chmod 0755 "$d"
  su postgres -s /bin/sh -c "$PGBIN/initdb -D $d/primary -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >"$d/initdb.log" 2>&1 || return 1
  opts="-c listen_addresses=127.0.0.1 -k $d -c fsync=off -c shared_buffers=16MB -c max_connections=50 -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on"
  pg_pair_ctl "$d" primary -l "$d/primary.log" -w -o "'$opts -p $p1'" start >/dev/null || return 1
  psql -q -h 127.0.0.1 -p "$p1" -U postgres -c "CREATE ROLE vpopmail LOGIN CREATEDB PASSWORD 'vpoppw'" \
    -c "CREATE DATABASE vpopmail OWNER vpopmail" >/dev/null || return 1
  su postgres -s /bin/sh -c "$PGBIN/pg_basebackup -h 127.0.0.1 -p $p1 -U postgres -D $d/standby -R -X stream --checkpoint=fast" >"$d/basebackup.log" 2>&1 || return 1
  pg_pair_ctl "$d" standby -l "$d/standby.log" -w -o "'$opts -p $p2'" start >/dev/null || return 1
}

pg_pair_stop() {
  for n in standby primary; do
    [ -f "$1/$n/postmaster.pid" ] && pg_pair_ctl "$1" "$n" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$1"
}
