#!/usr/bin/env bash
# Start/stop the servers the test suite needs: a throw-away PostgreSQL on 127.0.0.1 (and
# Debian's dovecot installed for the e-mail channel's tests, which start it themselves).
# Installs PostgreSQL from Debian's packages when no server binaries are present.
# Writes var/test-services.env with STADSPULS_TEST_PG_URL for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${STADSPULS_TEST_PG_PORT:-}"
DIR="$PWD/var/test-pg"
ENV_FILE="$PWD/var/test-services.env"

pg_bin() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$initdb" ]; then
    # Only install when no server is there: apt's candidate may upgrade an installed one.
    if ! dpkg-query -W -f='${Status}' 'postgresql-[0-9]*' 2>/dev/null | grep -q "install ok installed"; then
      echo "installing PostgreSQL from Debian's packages" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    fi
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  fi
  dirname "$initdb"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  # A port nothing listens on (another checkout's test server may hold the usual one).
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The e-mail channel's tests (tests/channels) start a dovecot of their own per test session, in
# a temporary folder; this only installs Debian's dovecot-imapd when it is missing (root and apt
# needed; without them those tests skip and say why).
ensure_dovecot() {
  command -v dovecot >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test-services: dovecot is missing and cannot be installed here; the IMAP tests will skip" >&2
    return 0
  fi
  echo "test-services: installing Debian's dovecot-imapd for the IMAP tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd; } >/dev/null \
    || echo "test-services: apt-get failed; the IMAP tests will skip" >&2
}

start() {
  local bin
  ensure_dovecot
  bin=$(pg_bin)
  mkdir -p var
  stop >/dev/null 2>&1 || true
  PORT="${PORT:-$(free_port)}"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
  as_postgres "$bin/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 >/dev/null
  as_postgres "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
  echo "export STADSPULS_TEST_PG_URL=postgresql://postgres@127.0.0.1:$PORT/postgres" > "$ENV_FILE"
  echo "PostgreSQL ready on 127.0.0.1:$PORT" >&2
}

stop() {
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || true
  fi
  echo "export STADSPULS_TEST_PG_URL=" > "$ENV_FILE" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
