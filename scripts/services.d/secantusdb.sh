#!/usr/bin/env bash
# SecantusDB: a MongoDB-compatible server (wire protocol) for the kombu-mongo tests.
# A test-time tool only (GPL-2.0, never a dependency of a package we ship).
# Installs it into the test virtualenv (.venv) if secantusd-py is missing there and
# on PATH, starts it on 127.0.0.1:$KOMBU_SERVICE_SECANTUSDB_PORT (27027) with an
# in-memory store, and waits until it answers.
#   scripts/services.d/secantusdb.sh serve PORT DIR   runs one in the foreground, storing
#   in DIR (the fault suite's private, restartable server).
set -u
cd "$(dirname "$0")/../.."
if [ "${1:-}" = serve ]; then
  for BIN in "${KOMBU_TEST_VENV:-.venv}/bin/secantusd-py" .services/secantusdb/bin/secantusd-py \
      "$(command -v secantusd-py)"; do
    [ -x "$BIN" ] && exec "$BIN" --host 127.0.0.1 --port "$2" --storage-path "$3/secantus" \
      --log-level WARNING
  done
  echo "secantusdb: secantusd-py is not installed (run scripts/services.d/secantusdb.sh)" >&2
  exit 1
fi
PORT=${KOMBU_SERVICE_SECANTUSDB_PORT:-27027}
WAIT=${KOMBU_SERVICE_SECANTUSDB_WAIT:-60}
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers "$PORT" && exit 0
if [ -n "${KOMBU_SERVICE_SECANTUSDB_START+set}" ] && [ -z "$KOMBU_SERVICE_SECANTUSDB_START" ]; then
  echo "services: secantusdb is not answering on 127.0.0.1:$PORT (and is not started here)" >&2
  exit 1
fi
VENV=${KOMBU_TEST_VENV:-.venv}
BIN=""
if [ -x "$VENV/bin/secantusd-py" ]; then BIN="$VENV/bin/secantusd-py"
elif command -v secantusd-py >/dev/null 2>&1; then BIN=$(command -v secantusd-py)
else
  if [ ! -x "$VENV/bin/python" ]; then
    VENV=.services/secantusdb
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" >/dev/null 2>&1
  fi
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check secantusdb \
      >/dev/null 2>&1; then
    echo "services: secantusdb is not answering on 127.0.0.1:$PORT and pip install secantusdb failed" >&2
    exit 1
  fi
  BIN="$VENV/bin/secantusd-py"
fi
mkdir -p .services
nohup "$BIN" --host 127.0.0.1 --port "$PORT" --storage-path :memory: --log-level WARNING \
  >.services/secantusdb.log 2>&1 </dev/null &
for _ in $(seq "$WAIT"); do answers "$PORT" && exit 0; sleep 1; done
echo "services: secantusdb did not come up on 127.0.0.1:$PORT within ${WAIT}s (see .services/secantusdb.log)" >&2
exit 1
