#!/usr/bin/env bash
# Start a ZooKeeper server for the tests (kombu-zk) if none answers on its port.
#
#   scripts/services.d/zookeeper.sh        # port 2181, data in $KOMBU_ZK_DIR
#   scripts/services.d/zookeeper.sh --foreground PORT DIR [MAXBUFFER]
#                                          # a private server in the foreground (the
#                                          # fault suite's, which restarts it); MAXBUFFER
#                                          # sets its jute.maxbuffer (bytes; default 1 MiB)
#
# Uses Debian's `zookeeper` package (installed with apt-get if missing) and runs
# its zkServer.sh in the foreground, as a background process of its own, with a
# configuration written here: standalone, loopback only, no admin server, the
# four-letter words kazoo needs, tickTime 500 ms (sessions may be as short as
# 1 s, so the tests can watch a lease lapse).  Never a system service.
# Exits 0 once the server answers `ruok` with `imok`.
set -u
FOREGROUND=""
if [ "${1:-}" = --foreground ]; then
  FOREGROUND=1 PORT=$2 DIR=$3
  [ -n "${4:-}" ] && export SERVER_JVMFLAGS="-Djute.maxbuffer=$4"
else
  PORT=${KOMBU_SERVICE_ZOOKEEPER_PORT:-2181}
  DIR=${KOMBU_ZK_DIR:-${TMPDIR:-/tmp}/kombu-zookeeper-$PORT}
fi
WAIT=${KOMBU_SERVICE_ZOOKEEPER_WAIT:-90}

ruok() {
  { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
  printf ruok >&3
  local reply
  reply=$(timeout 2 cat <&3 2>/dev/null)
  exec 3<&-
  [ "$reply" = imok ]
}

[ -z "$FOREGROUND" ] && ruok && exit 0

ZKSERVER=/usr/share/zookeeper/bin/zkServer.sh
if [ ! -x "$ZKSERVER" ]; then
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper) >/dev/null 2>&1; then
    echo "services: zookeeper is not answering on 127.0.0.1:$PORT and apt-get install zookeeper failed" >&2
    exit 1
  fi
  ZKSERVER=$(dpkg -L zookeeper 2>/dev/null | grep '/zkServer.sh$' | head -1)
  if [ -z "$ZKSERVER" ]; then
    echo "services: the zookeeper package has no zkServer.sh" >&2
    exit 1
  fi
fi

mkdir -p "$DIR/data" "$DIR/logs"
cat > "$DIR/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
minSessionTimeout=1000
maxSessionTimeout=60000
dataDir=$DIR/data
clientPort=$PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,envi,conf
autopurge.purgeInterval=1
CFG

if [ -n "$FOREGROUND" ]; then
  ZOO_LOG_DIR="$DIR/logs" ZOO_LOG4J_PROP=WARN,CONSOLE exec "$ZKSERVER" start-foreground "$DIR/zoo.cfg"
fi

ZOO_LOG_DIR="$DIR/logs" ZOO_LOG4J_PROP=INFO,CONSOLE \
  setsid "$ZKSERVER" start-foreground "$DIR/zoo.cfg" >"$DIR/logs/server.out" 2>&1 < /dev/null &
echo $! > "$DIR/server.pid"

for _ in $(seq "$WAIT"); do
  ruok && exit 0
  sleep 1
done
echo "services: zookeeper did not answer ruok on 127.0.0.1:$PORT within ${WAIT}s (see $DIR/logs/server.out)" >&2
exit 1
