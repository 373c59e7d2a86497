#!/usr/bin/env bash
# Start, stop or delete the development database: ScyllaDB in Docker when a Docker engine
# answers, otherwise a local Apache Cassandra 5.0 node (scripts/cassandra_local.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
action=${1:?usage: scripts/db.sh up|down|clean|status}

have_docker() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if have_docker && [ "${REGISTRY_DB:-}" != "cassandra" ]; then
  case "$action" in
    up)
      if "$PYTHON" scripts/cassandra_local.py ping; then
        echo "[db] a node already answers CQL on 127.0.0.1:9042; nothing to do" >&2
        exit 0
      fi
      docker compose up -d scylladb
      "$PYTHON" scripts/cassandra_local.py wait --timeout 240 ;;
    down) docker compose stop scylladb ;;
    clean) docker compose down -v ;;
    status) docker compose ps ;;
    *) echo "unknown action: $action" >&2; exit 2 ;;
  esac
  exit 0
fi

if [ "$action" = up ] && ! command -v java >/dev/null 2>&1; then
  cat >&2 <<'MSG'
[db] No Docker engine answers and Java is not installed, so no database can be started.
     Install one of:
       - Docker (with the compose plugin): ScyllaDB then runs from docker-compose.yml;
       - OpenJDK 17 and Maven (Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless maven;
         macOS: brew install openjdk@17 maven): a local Apache Cassandra 5.0 node then runs
         from Maven Central's jars.
MSG
  exit 1
fi
exec "$PYTHON" scripts/cassandra_local.py "$action"
