#!/usr/bin/env bash
# Start the services the tests need if they are not answering already.
#   bash scripts/services.sh redis rabbitmq postgres mariadb zookeeper ...
# Each is started only when its port does not answer; the script waits until
# it does (or fails, naming the service).
set -u
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local name=$1 port=$2 tries=${3:-60}
  for _ in $(seq "$tries"); do answers "$port" && return 0; sleep 1; done
  echo "services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}
status=0
for svc in "$@"; do
  case "$svc" in
    redis)
      answers 6379 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
        --save "" --appendonly no >/dev/null
      wait_port redis 6379 || status=1 ;;
    rabbitmq)
      answers 5672 || rabbitmq-server -detached >/dev/null 2>&1
      wait_port rabbitmq 5672 120 || status=1 ;;
    postgres)
      answers 5432 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
      wait_port postgres 5432 || status=1 ;;
    mariadb)
      answers 3306 || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
      wait_port mariadb 3306 || status=1 ;;
    *)
      if [ -x "scripts/services.d/$svc.sh" ]; then
        "scripts/services.d/$svc.sh" || status=1
      else
        echo "services: unknown service $svc" >&2; status=1
      fi ;;
  esac
done
exit $status
