#!/usr/bin/env bash
# Start the services the tests need if they are not answering already.
#   bash scripts/services.sh redis rabbitmq postgres mariadb zookeeper ...
# A service that answers on its port is left alone. One that does not is started
# and waited for; if it cannot be started (not installed, start failed) or does
# not come up in time, one line on standard error says so and why. Exits 0 only
# when every service named answers.
#
# Built in: redis, rabbitmq, postgres, mariadb. Any other NAME is defined by
# scripts/services.d/NAME.sh: an executable that starts it if needed and exits 0
# once it answers (non-zero, with its reason on standard error, when it cannot).
#
# Overrides, NAME upper-cased with - as _ (the runner's tests use them to
# reproduce a machine without a broker; they never touch a running service):
#   KOMBU_SERVICE_<NAME>_PORT    the port that must answer on 127.0.0.1
#   KOMBU_SERVICE_<NAME>_START   the command that starts it ("" = never start it)
#   KOMBU_SERVICE_<NAME>_WAIT    seconds to wait for the port once started
set -u
cd "$(dirname "$0")/.."

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sets PORT, WAIT, NEED (the program that must be installed) and START.
builtin_service() {
  case $1 in
    redis)
      PORT=6379 WAIT=30 NEED=redis-server
      START='redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no >/dev/null' ;;
    rabbitmq)
      PORT=5672 WAIT=120 NEED=rabbitmq-server
      START='rabbitmq-server -detached >/dev/null 2>&1' ;;
    postgres)
      PORT=5432 WAIT=60 NEED=pg_ctlcluster
      START='pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start' ;;
    mariadb)
      PORT=3306 WAIT=60 NEED=/usr/sbin/mariadbd
      START='start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd' ;;
    *) return 1 ;;
  esac
}

start_builtin() {
  local svc=$1 key var
  key=$(printf '%s' "$svc" | tr 'a-z-' 'A-Z_')
  var="KOMBU_SERVICE_${key}_PORT"; PORT=${!var:-$PORT}
  var="KOMBU_SERVICE_${key}_WAIT"; WAIT=${!var:-$WAIT}
  var="KOMBU_SERVICE_${key}_START"
  if [ -n "${!var+set}" ]; then START=${!var}; NEED=""; fi
  answers "$PORT" && return 0
  if [ -z "$START" ]; then
    echo "services: $svc is not answering on 127.0.0.1:$PORT (and is not started here)" >&2
    return 1
  fi
  if [ -n "$NEED" ] && ! command -v "$NEED" >/dev/null 2>&1; then
    echo "services: $svc is not answering on 127.0.0.1:$PORT and $NEED is not installed" >&2
    return 1
  fi
  if ! eval "$START"; then
    echo "services: $svc is not answering on 127.0.0.1:$PORT and starting it failed" >&2
    return 1
  fi
  for _ in $(seq "$WAIT"); do answers "$PORT" && return 0; sleep 1; done
  echo "services: $svc did not come up on 127.0.0.1:$PORT within ${WAIT}s" >&2
  return 1
}

status=0
for svc in "$@"; do
  if builtin_service "$svc"; then
    start_builtin "$svc" || status=1
  elif [ -x "scripts/services.d/$svc.sh" ]; then
    "scripts/services.d/$svc.sh" || status=1
  else
    echo "services: unknown service $svc (no scripts/services.d/$svc.sh)" >&2
    status=1
  fi
done
exit $status
