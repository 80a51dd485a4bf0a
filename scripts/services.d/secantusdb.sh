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
# The secantusd-py to run: the test virtualenv's, one on PATH, or (neither there)
# one installed now with pip. Prints its path; fails if it cannot be installed.
secantusd() {
  local venv=${KOMBU_TEST_VENV:-.venv}
  for bin in "$venv/bin/secantusd-py" .services/secantusdb/bin/secantusd-py \
      "$(command -v secantusd-py)"; do
    [ -x "$bin" ] && { echo "$bin"; return 0; }
  done
  if [ ! -x "$venv/bin/python" ]; then
    venv=.services/secantusdb
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >/dev/null 2>&1
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check secantusdb \
    >/dev/null 2>&1 || return 1
  echo "$venv/bin/secantusd-py"
}
if [ "${1:-}" = serve ]; then
  BIN=$(secantusd) || { echo "secantusdb: pip install secantusdb failed" >&2; exit 1; }
  exec "$BIN" --host 127.0.0.1 --port "$2" --storage-path "$3/secantus" --log-level WARNING
fi
PORT=${KOMBU_SERVICE_SECANTUSDB_PORT:-27027}
WAIT=${KOMBU_SERVICE_SECANTUSDB_WAIT:-60}
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -n "${KOMBU_SERVICE_SECANTUSDB_START+set}" ] && [ -z "$KOMBU_SERVICE_SECANTUSDB_START" ]; then
  answers "$PORT" && exit 0
  echo "services: secantusdb is not answering on 127.0.0.1:$PORT (and is not started here)" >&2
  exit 1
fi
# Installed even when a server answers already (one started from another checkout):
# the fault suite runs private ones from this checkout ("serve" above).
if ! BIN=$(secantusd); then
  answers "$PORT" && exit 0
  echo "services: secantusdb is not answering on 127.0.0.1:$PORT and pip install secantusdb failed" >&2
  exit 1
fi
answers "$PORT" && exit 0
mkdir -p .services
nohup "$BIN" --host 127.0.0.1 --port "$PORT" --storage-path :memory: --log-level WARNING \
  >.services/secantusdb.log 2>&1 </dev/null &
for _ in $(seq "$WAIT"); do answers "$PORT" && exit 0; sleep 1; done
echo "services: secantusdb did not come up on 127.0.0.1:$PORT within ${WAIT}s (see .services/secantusdb.log)" >&2
exit 1
