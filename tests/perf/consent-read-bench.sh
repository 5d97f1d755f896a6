#!/usr/bin/env bash
# Consent-checked, access-recorded reads through the real hub, beside a bare protected GET,
# alternating in one session with wrk on loopback. Run on demand:
#   bash tests/perf/consent-read-bench.sh [rounds] [seconds] [connections]
# The hub (release, embedded store, log level warn, read rate limit raised out of the way)
# gets a data recipient, a customer with 20 published accounts and a consent authorised
# through the real pages (tests/e2e/examples/consent_token.rs). Each measured request then
# verifies the token (signature, revocation, client, partner and consent at their latest
# revisions), reads the consent grant, serves the 20 accounts minimised to ReadAccountsBasic,
# and appends a durable DataAccessed event before answering. The baseline is the bare actix
# handler that only verifies the same ES256 token (services/auth/examples/bare_verify_server).
# Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
conns=${3:-64}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-auth --example bare_verify_server
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example consent_token
bin="$target/release/ecohub"

port=18180; hub="http://127.0.0.1:$port"
cat >"$work/ecohub.toml" <<TOML
[auth]
access_token_lifetime_secs = 3600
[sharing]
read_per_second = 1000000.0
read_burst = 1000000.0
TOML
"$bin" serve --config "$work/ecohub.toml" --data-dir "$work/hub" --bind "127.0.0.1:$port" \
  --log-level warn >"$work/hub.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
setup=$("$target/release/examples/consent_token" "$hub" "$work/hub")
token=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["access_token"])' "$setup")
curl -sf "$hub/data/accounts" -H "Authorization: Bearer $token" >/dev/null
curl -s "$hub/jwks" >"$work/jwks.json"
"$target/release/examples/bare_verify_server" 18181 "$work/jwks.json" "$hub" &
pids+=($!)
sleep 0.5
curl -sf "http://127.0.0.1:18181/protected" -H "Authorization: Bearer $token" >/dev/null
cat >"$work/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA

run() { # url → "req/s p99"; a round with any non-2xx answer (e.g. 401, 429) is an error
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/bearer.lua" "$1" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers from $1:" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}' "$work/wrk.out"
}
: >"$work/hub.rps" >"$work/bare.rps"
wrk -t2 -c"$conns" -d2s -s "$work/bearer.lua" "$hub/data/accounts" >/dev/null # warm-up
for r in $(seq "$rounds"); do
  run "http://127.0.0.1:18181/protected" >>"$work/bare.rps"
  run "$hub/data/accounts" >>"$work/hub.rps"
  echo "round $r: bare $(tail -1 "$work/bare.rps") | hub $(tail -1 "$work/hub.rps")" >&2
done
median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
read -r hr hp <<<"$(median <"$work/hub.rps")"
read -r br bp <<<"$(median <"$work/bare.rps")"
echo "| measurement (median of $rounds × ${secs}s, wrk -t2 -c$conns) | req/s | p99 |"
echo "|---|---|---|"
echo "| bare actix + ES256 verify, GET | $br | $bp |"
echo "| Ecohub GET /data/accounts (consent-checked, access recorded) | $hr | $hp |"
echo "| ratio Ecohub / bare | $(python3 -c "print(round($hr/$br, 2))") | |"
accesses=$(curl -s "$hub/metrics" | awk '/^ecohub_store_events_total\{operation="append"\}/ {print $2}')
echo "(store appends during the session: $accesses — one DataAccessed per read)" >&2
