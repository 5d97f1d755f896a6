#!/usr/bin/env bash
# Consent-checked, access-recorded reads (GET /data/accounts with a consent-bound token):
# every request verifies the token, reads the consent grant, serves 20 minimised records
# from the in-memory read model and appends a durable DataAccessed event (group commit,
# fsync) before answering. On loopback with wrk. Run on demand:
#   bash tests/perf/sharing-bench.sh [seconds] [connections]
# Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-15}
conns=${2:-64}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-sharing --example sharing_bench_server
"$target/release/examples/sharing_bench_server" 127.0.0.1:18090 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf -H 'Authorization: Bearer bench' http://127.0.0.1:18090/data/accounts >/dev/null && break; sleep 0.1; done
cat >"$work/read.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer bench"
LUA
wrk -t2 -c"$conns" -d2s -s "$work/read.lua" http://127.0.0.1:18090/data/accounts >/dev/null # warm-up
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/read.lua" http://127.0.0.1:18090/data/accounts
