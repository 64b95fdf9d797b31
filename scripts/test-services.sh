#!/usr/bin/env bash
# Start/stop the servers the test suite needs: a throw-away PostgreSQL and a throw-away Redis on
# 127.0.0.1 (and Debian's dovecot installed for the e-mail channel's tests, which start it
# themselves). Installs PostgreSQL and Redis from Debian's packages when they are missing.
# Writes var/test-services.env with STADSPULS_TEST_PG_URL and STADSPULS_TEST_REDIS_URL.
#
#   start | stop          both servers, fresh data
#   restart-redis         stop Redis and start it again on the same port and data (AOF kept)
#   restart-pg            the same for PostgreSQL (bench/cluster.py's fault injection)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${STADSPULS_TEST_PG_PORT:-}"
DIR="$PWD/var/test-pg"
REDIS_PORT="${STADSPULS_TEST_REDIS_PORT:-}"
REDIS_DIR="$PWD/var/test-redis"
ENV_FILE="$PWD/var/test-services.env"
PG_OPTIONS="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

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

# Debian's redis-server (7.x), installed only when missing (root and apt needed; without them
# the broker's tests skip and say why).
ensure_redis() {
  command -v redis-server >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test-services: redis-server is missing and cannot be installed here; the broker tests will skip" >&2
    return 1
  fi
  echo "test-services: installing Debian's redis-server for the broker tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; } >/dev/null \
    || { echo "test-services: apt-get failed; the broker tests will skip" >&2; return 1; }
}

write_env() {
  local pg="" redis=""
  [ -f "$DIR/port" ] && [ -f "$DIR/data/postmaster.pid" ] && pg="postgresql://postgres@127.0.0.1:$(cat "$DIR/port")/postgres"
  [ -f "$REDIS_DIR/port" ] && [ -f "$REDIS_DIR/redis.pid" ] && redis="redis://127.0.0.1:$(cat "$REDIS_DIR/port")/0"
  mkdir -p "$(dirname "$ENV_FILE")"
  printf 'export STADSPULS_TEST_PG_URL=%s\nexport STADSPULS_TEST_REDIS_URL=%s\n' "$pg" "$redis" > "$ENV_FILE"
}

pg_up() {
  as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start \
    -o "-c port=$(cat "$DIR/port") $PG_OPTIONS" >/dev/null
}

pg_down() {
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || true
  fi
}

start_pg() {
  local bin
  bin=$(pg_bin)
  pg_down
  PORT="${PORT:-$(free_port)}"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
  as_postgres "$bin/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 >/dev/null
  echo "$PORT" > "$DIR/port"
  pg_up
  echo "PostgreSQL ready on 127.0.0.1:$PORT" >&2
}

# Redis keeps its streams in an append-only file (AOF), fsynced every second: a restart
# (SHUTDOWN writes the file out) keeps every entry, pending list and consumer group; RDB
# snapshots are off. A crash of Redis itself may lose the last second: see docs/cluster.md.
redis_up() {
  local port
  port=$(cat "$REDIS_DIR/port")
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/log" --save '' \
    --appendonly yes --appendfsync everysec --protected-mode no >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && [ -f "$REDIS_DIR/redis.pid" ] && return 0
    sleep 0.05
  done
  echo "test-services: Redis did not start; see $REDIS_DIR/log" >&2
  return 1
}

redis_down() {
  [ -f "$REDIS_DIR/port" ] || return 0
  redis-cli -p "$(cat "$REDIS_DIR/port")" shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do
    [ -f "$REDIS_DIR/redis.pid" ] || return 0
    sleep 0.05
  done
  # Still there: stop it by its own pid only.
  kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
  rm -f "$REDIS_DIR/redis.pid"
}

start_redis() {
  ensure_redis || return 0
  redis_down
  REDIS_PORT="${REDIS_PORT:-$(free_port)}"
  rm -rf "$REDIS_DIR"
  mkdir -p "$REDIS_DIR"
  echo "$REDIS_PORT" > "$REDIS_DIR/port"
  redis_up
  echo "Redis ready on 127.0.0.1:$REDIS_PORT" >&2
}

start() {
  ensure_dovecot
  mkdir -p var
  start_pg
  start_redis
  write_env
}

stop() {
  pg_down
  redis_down
  write_env 2>/dev/null || true
}

restart_redis() {
  [ -f "$REDIS_DIR/port" ] || { echo "test-services: no Redis was started here" >&2; exit 1; }
  redis_down
  redis_up
  echo "Redis restarted on 127.0.0.1:$(cat "$REDIS_DIR/port")" >&2
}

restart_pg() {
  [ -f "$DIR/port" ] || { echo "test-services: no PostgreSQL was started here" >&2; exit 1; }
  pg_down
  pg_up
  echo "PostgreSQL restarted on 127.0.0.1:$(cat "$DIR/port")" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart-redis) restart_redis ;;
  restart-pg) restart_pg ;;
  *) echo "usage: $0 start|stop|restart-redis|restart-pg" >&2; exit 2 ;;
esac
