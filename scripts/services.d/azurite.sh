#!/usr/bin/env bash
# Azurite's queue service for the kombu-azure tests, on 127.0.0.1:10001.
#   bash scripts/services.d/azurite.sh
# Installs azurite from npm into .services/azurite (gitignored) when it is
# missing, starts azurite-queue as a background process with its data in
# .services/azurite/data, and waits until the port answers. Exits 0 when the
# queue service answers; non-zero with a one-line reason otherwise.
# KOMBU_SERVICE_AZURITE_PORT overrides the port.
set -u
cd "$(dirname "$0")/../.."
PORT=${KOMBU_SERVICE_AZURITE_PORT:-10001}
PREFIX=.services/azurite
BIN=$PREFIX/node_modules/.bin/azurite-queue

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers "$PORT" && exit 0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "azurite: node and npm are needed to run Azurite (apt-get install nodejs npm)" >&2
  exit 1
fi
mkdir -p "$PREFIX/data"
if [ ! -x "$BIN" ]; then
  if ! npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error azurite \
      >"$PREFIX/npm-install.log" 2>&1; then
    echo "azurite: npm install azurite failed (see $PREFIX/npm-install.log)" >&2
    exit 1
  fi
fi
nohup "$BIN" --queueHost 127.0.0.1 --queuePort "$PORT" --location "$PREFIX/data" \
  --silent --skipApiVersionCheck --loose --disableTelemetry >"$PREFIX/azurite.log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  answers "$PORT" && exit 0
  sleep 0.5
done
echo "azurite: azurite-queue did not answer on 127.0.0.1:$PORT within 60s (see $PREFIX/azurite.log)" >&2
exit 1
