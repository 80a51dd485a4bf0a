#!/usr/bin/env bash
# Local SQS (and SNS) for the kombu-sqs tests: moto's server on 127.0.0.1:9324.
# Installs moto[server] with pip if moto_server is missing, starts it as its own
# background process and waits until it answers. Exits 0 once it does; non-zero
# with one line on standard error otherwise.
set -u
PORT=${KOMBU_SERVICE_MOTO_PORT:-9324}
WAIT=${KOMBU_SERVICE_MOTO_WAIT:-60}
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers "$PORT" && exit 0
if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]' >/dev/null 2>&1 || {
    echo "services: moto: pip install 'moto[server]' failed" >&2; exit 1; }
fi
command -v moto_server >/dev/null 2>&1 || {
  echo "services: moto: moto_server is not on PATH after installing moto[server]" >&2; exit 1; }
LOG=${TMPDIR:-/tmp}/kombu-moto-$PORT.log
setsid nohup moto_server -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 </dev/null &
for _ in $(seq 1 "$((WAIT * 10))"); do
  answers "$PORT" && exit 0
  sleep 0.1
done
echo "services: moto did not answer on 127.0.0.1:$PORT within ${WAIT}s (log: $LOG)" >&2
exit 1
