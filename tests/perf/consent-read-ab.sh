#!/usr/bin/env bash
# Compares builds of the hub on consent-checked, access-recorded reads in one session: each
# given `ecohub` binary gets its own hub (embedded store, own data directory) prepared by
# tests/e2e/examples/consent_token.rs, then the hubs are measured in alternating rounds.
#   bash tests/perf/consent-read-ab.sh <seconds> <connections> <ecohub binary>...
# e.g. build an older commit in a worktree, copy its target/release/ecohub aside, and pass
# both. A round with any non-2xx answer fails the run. Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=$1; conns=$2; shift 2
[ $# -ge 1 ] || { echo "usage: consent-read-ab.sh <seconds> <connections> <ecohub>..." >&2; exit 2; }
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example consent_token
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cat >"$work/ecohub.toml" <<TOML
[auth]
access_token_lifetime_secs = 3600
[sharing]
read_per_second = 1000000.0
read_burst = 1000000.0
TOML
i=0
for bin in "$@"; do
  i=$((i + 1)); port=$((18200 + i)); dir="$work/h$i"
  "$bin" serve --config "$work/ecohub.toml" --data-dir "$dir" --bind "127.0.0.1:$port" \
    --log-level warn >"$dir.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
  setup=$("$target/release/examples/consent_token" "http://127.0.0.1:$port" "$dir")
  token=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["access_token"])' "$setup")
  echo "wrk.headers[\"Authorization\"] = \"Bearer $token\"" >"$dir.lua"
  wrk -t2 -c"$conns" -d2s -s "$dir.lua" "http://127.0.0.1:$port/data/accounts" >/dev/null
done
echo "| build | round | req/s | p99 |"
echo "|---|---|---|---|"
for r in 1 2 3; do
  i=0
  for bin in "$@"; do
    i=$((i + 1)); port=$((18200 + i)); dir="$work/h$i"
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir.lua" "http://127.0.0.1:$port/data/accounts" >"$work/wrk.out"
    if grep -q "Non-2xx" "$work/wrk.out"; then
      echo "non-2xx answers from $bin:" >&2; cat "$work/wrk.out" >&2; exit 1
    fi
    echo "| $bin | $r | $(awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r " | " p}' "$work/wrk.out") |"
  done
done
