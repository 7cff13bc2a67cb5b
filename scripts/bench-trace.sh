#!/usr/bin/env bash
# bench-trace.sh runs the trace-latency benchmark of internal/trace/tracebench
# beside PostgreSQL: it starts a private PostgreSQL server (the binaries
# already on the machine; nothing is installed) listening only on a unix
# socket in a temporary directory, exports its DSN as CHAINTRACE_BENCH_PG,
# runs the Go benchmark and stops the server, whatever happens.
#
#   scripts/bench-trace.sh                       # the full benchmark (50M+ outputs)
#   CHAINTRACE_BENCH_TXS=200000 scripts/bench-trace.sh   # a small run
#   scripts/bench-trace.sh -run TestTracePostgresAgrees -bench '^$'
#
# Arguments replace the default go test flags. Environment:
#
#   CHAINTRACE_BENCH_DIR  where the generated chain store and, here, the
#                         PostgreSQL data directory are kept between runs
#                         (default: the chain under $TMPDIR/chaintrace-tracebench,
#                         the PostgreSQL data in a temporary directory that is
#                         removed at exit, so every run reloads it)
#   CHAINTRACE_BENCH_TXS  transactions in the generated chain (default 26.5M,
#                         about 52M outputs)
#   PGBIN                 directory of initdb, pg_ctl and postgres
#                         (default /usr/local/bin)
#
# PostgreSQL refuses to run as root; run as root, the script runs the
# server as the postgres user, which must be able to reach the data
# directory.
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=${PGBIN:-/usr/local/bin}
for b in initdb pg_ctl postgres; do
	if [ ! -x "$PGBIN/$b" ]; then
		echo "bench-trace: $PGBIN/$b not found; set PGBIN" >&2
		exit 1
	fi
done

runas=()
if [ "$(id -u)" = 0 ]; then
	runas=(runuser -u postgres --)
fi

sockdir=$(mktemp -d /tmp/ctpg.XXXXXX)
tmpdata=
if [ -n "${CHAINTRACE_BENCH_DIR:-}" ]; then
	mkdir -p "$CHAINTRACE_BENCH_DIR"
	pgdata=$CHAINTRACE_BENCH_DIR/pgdata
else
	tmpdata=$(mktemp -d /tmp/ctpgdata.XXXXXX)
	pgdata=$tmpdata/pgdata
fi
if [ ${#runas[@]} -gt 0 ]; then
	chown postgres "$sockdir"
	[ -n "$tmpdata" ] && chown postgres "$tmpdata"
	if [ -d "$pgdata" ]; then chown -R postgres "$pgdata"; fi
fi

started=
cleanup() {
	if [ -n "$started" ]; then
		"${runas[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null || true
	fi
	rm -rf "$sockdir"
	if [ -n "$tmpdata" ]; then rm -rf "$tmpdata"; fi
}
trap cleanup EXIT

if [ ! -f "$pgdata/PG_VERSION" ]; then
	if [ ${#runas[@]} -gt 0 ]; then
		mkdir -p "$pgdata"
		chown postgres "$pgdata"
	fi
	"${runas[@]}" "$PGBIN/initdb" -D "$pgdata" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
fi

# Benchmark data is rebuilt on demand, so durability is off (fsync,
# full-page writes, WAL beyond the minimum); the tables are UNLOGGED. JIT is
# off, as for most short analytical queries; memory settings suit a 24 GB
# machine shared with other work.
opts="-c listen_addresses='' -c unix_socket_directories='$sockdir' -c port=5432"
opts+=" -c shared_buffers=2GB -c effective_cache_size=12GB -c work_mem=64MB"
opts+=" -c maintenance_work_mem=1GB -c max_parallel_maintenance_workers=1"
opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
opts+=" -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=16GB -c checkpoint_timeout=30min"
opts+=" -c random_page_cost=1.1 -c jit=off"
"${runas[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -o "$opts" start >/dev/null
started=1

export CHAINTRACE_BENCH_PG="host=$sockdir port=5432 user=postgres dbname=postgres sslmode=disable"
echo "bench-trace: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on $sockdir, data in $pgdata"

if [ $# -eq 0 ]; then
	set -- -run '^$' -bench TraceLatency -benchtime 1x
fi
go test -timeout 6h "$@" ./internal/trace/tracebench/
