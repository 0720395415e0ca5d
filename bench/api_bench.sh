#!/bin/sh
# GET /api/v1/alerts?limit=50 over 1,000,000 stored alerts (issue 11, item 7):
# requests/s and p99 latency from wrk (Debian: wrk). Goal on the 2-core
# machine: >= 5,000 req/s, p99 <= 20 ms.
#
#   bench/api_bench.sh [BUILD_DIR]        (default: build)
#
# Environment: ALERTS (default 1000000), DURATION (wrk -d, default 20s),
# CONNECTIONS (wrk -c, default 64; a list such as "16 32 64" runs wrk once
# per value against the same server), WRK_THREADS (wrk -t, default 2),
# HTTP_THREADS (argus serve --http-threads; default: the server's),
# PIPELINE=1 runs the pipeline too (with the models of ARGUS_MODELS_DIR,
# default ./models; the database's 20 cameras are disabled, so none runs);
# by default the server starts with --no-pipeline.
#
# The database is filled by build/bench/api_fill (SQLite directly, one
# transaction: 20 cameras, 3 watchlists, 500 persons, the alerts over the
# last 30 days, a tenth of them decided) in a temporary folder that is
# removed at the end. An operator's API token authenticates every request.
set -eu

BUILD=${1:-build}
ARGUS="$BUILD/argus"
FILL="$BUILD/bench/api_fill"
ALERTS=${ALERTS:-1000000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
MODELS=${ARGUS_MODELS_DIR:-models}

for f in "$ARGUS" "$FILL"; do
  if [ ! -x "$f" ]; then
    echo "api_bench: $f not built (ninja -C $BUILD argus_cli api_fill)" >&2
    exit 2
  fi
done
if ! command -v wrk >/dev/null 2>&1; then
  echo "api_bench: wrk is not installed (Debian: apt-get install wrk)" >&2
  exit 2
fi

TMP=$(mktemp -d /tmp/argus-api-bench-XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
DB="$TMP/argus.db"

echo "api_bench: filling $DB with $ALERTS alerts"
t0=$(date +%s)
"$FILL" "$DB" "$ALERTS"
echo "api_bench: filled in $(( $(date +%s) - t0 )) s, $(du -h "$DB" | cut -f1)"

printf 'pw-bench-operator-12345\n' |
  "$ARGUS" user add bench-operator --role operator --password-stdin --db "$DB" >/dev/null
TOKEN=$("$ARGUS" user token bench-operator --db "$DB" | tail -n 1 | tr -d '[:space:]')
if [ -z "$TOKEN" ]; then
  echo "api_bench: no API token" >&2
  exit 1
fi

set -- --db "$DB" --listen 127.0.0.1:0
if [ "${PIPELINE:-0}" = 1 ]; then
  set -- "$@" --models "$MODELS"
else
  set -- "$@" --no-pipeline
fi
if [ -n "${HTTP_THREADS:-}" ]; then
  set -- "$@" --http-threads "$HTTP_THREADS"
fi
"$ARGUS" serve "$@" 2>"$TMP/serve.err" &
PID=$!

# Wait for "argus serve: listening on http://127.0.0.1:PORT".
URL=
i=0
while [ $i -lt 600 ]; do
  URL=$(sed -n 's/.*argus serve: listening on \(http[^ ]*\).*/\1/p' "$TMP/serve.err" | head -n 1)
  [ -n "$URL" ] && break
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "api_bench: argus serve ended:" >&2
    cat "$TMP/serve.err" >&2
    exit 1
  fi
  sleep 0.1
  i=$((i + 1))
done
if [ -z "$URL" ]; then
  echo "api_bench: argus serve did not listen within 60 s:" >&2
  cat "$TMP/serve.err" >&2
  exit 1
fi
TARGET="$URL/api/v1/alerts?limit=50"

# One request first: it must answer 200 with 50 alerts.
if command -v curl >/dev/null 2>&1; then
  code=$(curl -s -o "$TMP/first.json" -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "$TARGET")
  if [ "$code" != 200 ]; then
    echo "api_bench: GET $TARGET answered $code:" >&2
    head -c 500 "$TMP/first.json" >&2
    echo >&2
    exit 1
  fi
  echo "api_bench: first page: $(wc -c <"$TMP/first.json") bytes"
fi

for C in $CONNECTIONS; do
echo "api_bench: wrk -t$WRK_THREADS -c$C -d$DURATION --latency $TARGET"
wrk -t"$WRK_THREADS" -c"$C" -d"$DURATION" --latency \
  -H "Authorization: Bearer $TOKEN" "$TARGET" | tee "$TMP/wrk.txt"

RPS=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.txt")
P99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")
P50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.txt")
ERRS=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$TMP/wrk.txt")
RSS=$(awk '/^VmRSS:/ {print $2 " " $3}' "/proc/$PID/status" 2>/dev/null || echo "?")
echo
echo "GET /api/v1/alerts?limit=50 over $ALERTS alerts, $C connections, $DURATION:"
echo "  requests/s: $RPS   (goal >= 5000)"
echo "  p50: $P50   p99: $P99   (goal p99 <= 20 ms)"
echo "  non-2xx answers: ${ERRS:-0}   server RSS after the load: $RSS"
echo
done
