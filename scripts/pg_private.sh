#!/bin/sh
# Run a private PostgreSQL server in the foreground (the fault suite's and tests/sql's
# server to restart; the shared one on 5432 is never touched):
#   scripts/pg_private.sh PORT [DIR]
# Data lives in DIR (default /tmp/kombu-pg-PORT), made with initdb (trust, user
# postgres, database test) on first start, and kept across restarts on the same
# port.  As root it drops to the postgres user (PostgreSQL refuses to run as root).
set -e
port=$1
dir=${2:-/tmp/kombu-pg-$port}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/postgres" ] || bin=$(dirname "$(command -v postgres)")
if [ "$(id -u)" = 0 ]; then
  run="setpriv --reuid=postgres --regid=postgres --init-groups --"
else
  run=""
fi
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  $run "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
  echo "CREATE DATABASE test" | $run "$bin/postgres" --single -D "$dir" postgres >/dev/null
fi
# SIGTERM here is a fast shutdown there (PostgreSQL's own SIGTERM waits for every client).
$run "$bin/postgres" -D "$dir" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null' TERM INT
wait $pid || true
wait $pid 2>/dev/null || true
