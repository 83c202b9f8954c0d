#!/usr/bin/env bash
# Measures what a new user waits for: the time from launching `make run` to the health check
# answering SERVING.
#   1. fresh clone: `git clone` of this checkout's HEAD into a temporary directory, then
#      `make run` there (npm ci, the build to dist/, the first start on a new embedded database);
#   2. restarts: `make run` again in that clone, RESTARTS times (the default 3), same data.
# Each line also shows, from the server's log, when it was listening and when the embedded
# database was ready, and the CPU time the server process had used by then (what a busy machine
# does not inflate as much as the wall time). npm ci's time depends on the npm cache (~/.npm):
# say which it was.
# usage: scripts/measure-startup.sh [RESTARTS]        (needs grpcurl: make grpcurl)
#        CERTMINT_MEASURE_REV=<commit> measures that commit instead of HEAD (for a comparison).
set -euo pipefail
RESTARTS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GRPCURL=$ROOT/.tools/bin/grpcurl
[ -x "$GRPCURL" ] || { echo "grpcurl is missing: run 'make grpcurl' first" >&2; exit 1; }
PORT=${CERTMINT_MEASURE_PORT:-50199}
WORK=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill -INT -- "-$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# The ISO time of the server's first log line with this message, in epoch milliseconds.
log_ms() {
  local line
  line=$(grep -m1 "\"msg\":\"$2\"" "$1" || true)
  [ -n "$line" ] || { echo "-"; return; }
  date -d "$(sed -E 's/.*"time":"([^"]+)".*/\1/' <<<"$line")" +%s%3N
}

# Launches `make run` in the clone, waits for SERVING, prints the figures, stops it (SIGINT).
measure() {
  local label=$1 log=$WORK/$1.log start serving
  start=$(now_ms)
  (cd "$WORK/certmint" && CERTMINT_LISTEN=127.0.0.1:$PORT exec setsid make --no-print-directory run) >"$log" 2>&1 &
  PID=$!
  until "$GRPCURL" -plaintext -connect-timeout 1 "127.0.0.1:$PORT" grpc.health.v1.Health/Check 2>/dev/null \
      | grep -q '"SERVING"'; do
    kill -0 "$PID" 2>/dev/null || { echo "make run exited:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.1
  done
  serving=$(now_ms)
  local listening ready server cpu
  # The server is make's node child; utime + stime in clock ticks (/proc/PID/stat 14, 15).
  server=$(pgrep -P "$PID" -x node | head -1 || true)
  [ -n "$server" ] || server=$(pgrep -P "$(pgrep -P "$PID" | head -1)" -x node | head -1)
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$server/stat")
  listening=$(log_ms "$log" listening)
  ready=$(log_ms "$log" "database ready")
  printf '%-12s %6.1f s to SERVING  (listening at %s s, database ready at %s s; server CPU %s s)\n' "$label" \
    "$(bc <<<"scale=1; ($serving - $start) / 1000")" \
    "$([ "$listening" = - ] && echo - || bc <<<"scale=1; ($listening - $start) / 1000")" \
    "$([ "$ready" = - ] && echo - || bc <<<"scale=1; ($ready - $start) / 1000")" "$cpu"
  kill -INT -- "-$PID"
  wait "$PID" 2>/dev/null || true
  PID=
}

git clone --quiet "$ROOT" "$WORK/certmint"
git -C "$WORK/certmint" checkout --quiet "${CERTMINT_MEASURE_REV:-HEAD}"
echo "measuring $(git -C "$WORK/certmint" rev-parse --short HEAD) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure fresh-clone
for i in $(seq 1 "$RESTARTS"); do measure "restart-$i"; done
