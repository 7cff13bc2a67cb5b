#!/usr/bin/env bash
# bench-api.sh measures the REST API's read endpoints under load: it
# builds chaintrace, builds the demo's data (chaintrace demo --no-serve,
# which writes <data>/demo), starts chaintrace serve on it, creates a
# read key, and drives screen, address, transaction, label and chain-list
# requests with scripts/loadgen for 60 s at a target of 5,000 req/s,
# printing the rate achieved, the errors and the latency percentiles.
#
#   scripts/bench-api.sh                      # 60 s at 5,000 req/s
#   RATE=8000 DURATION=30s scripts/bench-api.sh
#
# The server runs with --anonymous none, so every request authenticates
# with the key, and with a read limit of 1,000,000/s (burst 2,000,000),
# so the rate limiter is on the path but never refuses; the default
# limits (50/s a key) would cap the benchmark. Its log level is warn: at
# info the access log writes a line per request. Environment:
#
#   CHAINTRACE_BENCH_DIR  data directory kept between runs (default a
#                         temporary one, removed at exit); the demo is
#                         built once into it
#   RATE, DURATION, WORKERS, PORT  loadgen's target, length, connections
#                         (default 5000, 60s, 64) and the server's port
#                         (default 18089)
#
# Loadgen and the server share the machine: the figures are for both on
# loopback, and anything else running takes from them.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-5000}
DURATION=${DURATION:-60s}
WORKERS=${WORKERS:-64}
PORT=${PORT:-18089}

tmp=$(mktemp -d /tmp/ctbenchapi.XXXXXX)
data=${CHAINTRACE_BENCH_DIR:-$tmp/data}
server=
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench-api: building chaintrace and loadgen"
go build -o "$tmp/chaintrace" ./cmd/chaintrace
go build -o "$tmp/loadgen" ./scripts/loadgen

if [ ! -d "$data/demo" ]; then
	echo "bench-api: building the demo data in $data/demo"
	mkdir -p "$data"
	"$tmp/chaintrace" --data "$data" --log-level warn demo --no-serve >"$tmp/demo.log"
fi
demo=$data/demo

key=$("$tmp/chaintrace" --data "$demo" apikey create --role read --name bench-api | head -1)
"$tmp/chaintrace" --data "$demo" --log-level warn serve --addr "127.0.0.1:$PORT" \
	--anonymous none --rate-limit read=1000000/s:2000000 --rescreen-every 0 &
server=$!
for _ in $(seq 100); do
	if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
		break
	fi
	sleep 0.2
done

echo "bench-api: $(nproc) cores; $(uptime)"
status=0
"$tmp/loadgen" -base "http://127.0.0.1:$PORT" -key "$key" -rate "$RATE" -duration "$DURATION" -workers "$WORKERS" || status=$?
"$tmp/chaintrace" --data "$demo" apikey revoke "${key:3:12}" >/dev/null
exit $status
