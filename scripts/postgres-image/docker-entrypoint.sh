#!/bin/sh
# Entrypoint of the locally built Postgres image; follows the official image's contract:
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default POSTGRES_USER), PGDATA.
set -eu
if [ "${1:-}" = postgres ] || [ "${1#-}" != "${1:-}" ]; then
  [ "${1:-}" = postgres ] && shift
  : "${PGDATA:=/var/lib/postgresql/data}"
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    auth=scram-sha-256
    [ -n "${POSTGRES_PASSWORD:-}" ] || auth=trust
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host="$auth" >/dev/null
    rm -f "$pwfile"
    printf "host all all all %s\n" "$auth" >> "$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
    if [ "$db" != postgres ]; then
      postgres --single -D "$PGDATA" -j postgres >/dev/null <<SQL
CREATE DATABASE "$db";
SQL
    fi
  fi
  exec postgres "$@"
fi
exec "$@"
