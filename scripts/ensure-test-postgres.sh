#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests use is reachable. With TEST_DATABASE_URL set, only checks
# it. Otherwise starts the machine's PostgreSQL 15 cluster (Debian: pg_ctlcluster) and creates
# the role "certmint" (CREATEDB: each test suite creates and drops its own database) and the
# database "certmint". Idempotent.
set -euo pipefail

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  exit 0
fi

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "no TEST_DATABASE_URL and no local PostgreSQL cluster: install PostgreSQL 15 or set TEST_DATABASE_URL" >&2
  exit 1
fi

cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  echo "no PostgreSQL cluster found (pg_createcluster 15 main)" >&2
  exit 1
fi
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
  echo "starting PostgreSQL cluster $cluster"
  pg_ctlcluster $cluster start
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -n -u postgres bash -c "$1"; fi
}
for _ in $(seq 1 30); do
  as_postgres "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
as_postgres "psql -qtAc \"select 1 from pg_roles where rolname='certmint'\"" | grep -q 1 ||
  as_postgres "psql -qc \"create role certmint login password 'certmint' createdb\""
# DROP DATABASE ... WITH (FORCE) of a test database must end every session in it, including an
# autovacuum worker that started after a suite's bulk inserts: that takes pg_signal_backend.
as_postgres "psql -qc 'grant pg_signal_backend to certmint'" >/dev/null
as_postgres "psql -qtAc \"select 1 from pg_database where datname='certmint'\"" | grep -q 1 ||
  as_postgres "psql -qc 'create database certmint owner certmint'"
echo "PostgreSQL ready: postgresql://certmint:***@127.0.0.1:5432/certmint"
