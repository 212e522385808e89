#!/bin/bash
# T3: a heavier service stop and start, N times: PostgreSQL 15 with its own
# cluster in DIR/data (made by bench/overhead with initdb; its socket dir and
# port are in its postgresql.conf), started and stopped with pg_ctl -w as the
# postgres user, one query each time to check it serves.
# Usage: t3-postgres.sh DIR N PORT
set -euo pipefail
dir=$1 n=$2 port=$3
bin=/usr/lib/postgresql/15/bin
for ((i = 0; i < n; i++)); do
	runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -s start
	out=$(runuser -u postgres -- "$bin/psql" -h "$dir/sock" -p "$port" -d postgres -Atq \
		-c 'select count(*) > 0 from pg_class')
	[[ $out == t ]] || { echo "t3-postgres: query failed: $out" >&2; exit 1; }
	runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w -s stop
done
