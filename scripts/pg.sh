#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server for the tests, bringing one up when none
# answers on 127.0.0.1:5432: installs Debian's postgresql, starts its cluster and
# gives the postgres user a password (the test server is throwaway). Logs go to
# stderr; only the URL goes to stdout.
set -euo pipefail
answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if answers; then
    echo "${DOMOPT_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
    exit 0
fi
echo "no PostgreSQL on 127.0.0.1:5432: installing and starting one" >&2
if ! command -v pg_ctlcluster >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
[ -n "$cluster" ] || { pg_createcluster 15 main >&2; cluster="15 main"; }
# shellcheck disable=SC2086
pg_ctlcluster $cluster start >&2 || true
for _ in $(seq 1 30); do answers && break; sleep 1; done
answers || { echo "PostgreSQL did not start" >&2; exit 1; }
su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'domopt-test'\"" >&2
echo "postgres://postgres:domopt-test@127.0.0.1:5432/postgres"
