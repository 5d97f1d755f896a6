#!/usr/bin/env bash
# The KurrentDB backend against the embedded store on the hot paths, in one session (issue 16):
# two hubs from the same release binary, one on the embedded store, one on the KurrentDB
# backend (the in-memory protocol double on loopback, or the server named by
# ECOHUB_EVENTSTOREDB_URL), each prepared by tests/e2e/examples/consent_token.rs. wrk then
# measures, alternating between the two hubs within every round:
#   - token issuance: client_credentials by a partner's client_secret_basic client (the
#     client, its partner's standing and the deciding categories checked exactly);
#   - a bearer-protected GET: GET /admin/partners with a bank staff token;
#   - consent-checked reads: GET /data/accounts with a consent-bound token (token, client,
#     partner and consent checked, 20 records minimised, a durable DataAccessed appended
#     before the answer).
# Run on demand:
#   bash tests/perf/store-ratio-bench.sh [rounds] [seconds] [connections]
# Prints each measurement's median per store and the ratio KurrentDB / embedded (target ≥ 0.7).
# With BASELINE=<another ecohub binary> the first hub runs that binary on KurrentDB too (a
# double of its own) instead of the embedded store: the ratio is then this build / that one,
# both on KurrentDB (build the older commit in a worktree and pass its target/release/ecohub).
# A round with any non-2xx answer fails the run. Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
conns=${3:-32}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example consent_token
bin="$target/release/ecohub"
if [ -n "${ECOHUB_EVENTSTOREDB_URL:-}" ]; then
  store_url="$ECOHUB_EVENTSTOREDB_URL"
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-kurrentdb-double --example serve_double
  "$target/release/examples/serve_double" >"$work/double.url" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/double.url" ] && break; sleep 0.1; done
  store_url=$(cat "$work/double.url")
fi
if [ -n "${BASELINE:-}" ]; then
  "$target/release/examples/serve_double" >"$work/double0.url" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/double0.url" ] && break; sleep 0.1; done
  baseline_url=$(cat "$work/double0.url")
  echo "baseline $BASELINE on KurrentDB: $baseline_url" >&2
fi
echo "KurrentDB store: $store_url" >&2

cat >"$work/ecohub.toml" <<TOML
[auth]
access_token_lifetime_secs = 3600
[sharing]
read_per_second = 1000000.0
read_burst = 1000000.0
TOML

field() { python3 -c 'import json,sys;d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }

start_hub() { # name port [store url [binary]] → prepares $work/<name>.{token,admin,read}.lua
  local name=$1 port=$2 url=${3:-} binary=${4:-$bin}
  local hub="http://127.0.0.1:$port"
  env ${url:+ECOHUB_STORE__URL=$url} "$binary" serve --config "$work/ecohub.toml" \
    --data-dir "$work/$name" --bind "127.0.0.1:$port" --log-level warn >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "$hub/health/ready" >/dev/null || { cat "$work/$name.log" >&2; exit 1; }
  local setup
  setup=$(env ${url:+ECOHUB_STORE__URL=$url} "$target/release/examples/consent_token" "$hub" "$work/$name")
  local basic
  basic=$(printf '%s:%s' "$(field "$setup" basic_client.client_id)" \
    "$(field "$setup" basic_client.client_secret)" | base64 -w0)
  cat >"$work/$name.token.lua" <<LUA
wrk.method = "POST"
wrk.body   = "grant_type=client_credentials"
wrk.headers["Content-Type"]  = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
  cat >"$work/$name.admin.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $(field "$setup" admin_token)"
LUA
  cat >"$work/$name.read.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $(field "$setup" access_token)"
LUA
  # Each path answers 2xx before it is measured.
  curl -sf -o /dev/null -X POST "$hub/token" -H "Authorization: Basic $basic" \
    -d grant_type=client_credentials
  curl -sf -o /dev/null "$hub/admin/partners?page_size=1" \
    -H "Authorization: Bearer $(field "$setup" admin_token)"
  curl -sf -o /dev/null "$hub/data/accounts" \
    -H "Authorization: Bearer $(field "$setup" access_token)"
}
if [ -n "${BASELINE:-}" ]; then
  start_hub embedded 18280 "$baseline_url" "$BASELINE" # the column reads "baseline" below
else
  start_hub embedded 18280
fi
start_hub kurrentdb 18281 "$store_url"

run() { # script url → "req/s p99"; a round with any non-2xx answer is an error
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$1" "$2" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers from $2:" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}' "$work/wrk.out"
}
declare -A path=([token]=/token [admin]="/admin/partners?page_size=1" [read]=/data/accounts)
declare -A port=([embedded]=18280 [kurrentdb]=18281)
for m in token admin read; do
  for s in embedded kurrentdb; do
    : >"$work/$m.$s"
    wrk -t2 -c"$conns" -d2s -s "$work/$s.$m.lua" "http://127.0.0.1:${port[$s]}${path[$m]}" >/dev/null
  done
done
first_hub=embedded
[ -n "${BASELINE:-}" ] && first_hub=baseline
for r in $(seq "$rounds"); do
  # Odd rounds measure the first hub first, even rounds the other: whatever one hub's
  # measurement leaves running (projections catching up) weighs on both sides alike.
  order="embedded kurrentdb"
  [ $((r % 2)) -eq 0 ] && order="kurrentdb embedded"
  for m in token admin read; do
    for s in $order; do
      run "$work/$s.$m.lua" "http://127.0.0.1:${port[$s]}${path[$m]}" >>"$work/$m.$s"
    done
    echo "round $r $m: $first_hub $(tail -1 "$work/$m.embedded") | kurrentdb $(tail -1 "$work/$m.kurrentdb")" >&2
  done
done
median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
declare -A label=(
  [token]="POST /token, client_credentials (client_secret_basic, partner client)"
  [admin]="bearer-protected GET /admin/partners"
  [read]="GET /data/accounts (consent-checked, access recorded)"
)
first="embedded req/s (p99)"; ratio="ratio (target ≥ 0.7)"
[ -n "${BASELINE:-}" ] && { first="baseline on KurrentDB req/s (p99)"; ratio="ratio this build / baseline"; }
echo "| measurement (median of $rounds × ${secs}s, wrk -t2 -c$conns) | $first | KurrentDB req/s (p99) | $ratio |"
echo "|---|---|---|---|"
for m in token admin read; do
  read -r er ep <<<"$(median <"$work/$m.embedded")"
  read -r kr kp <<<"$(median <"$work/$m.kurrentdb")"
  echo "| ${label[$m]} | $er ($ep) | $kr ($kp) | $(python3 -c "print(round($kr/$er, 2))") |"
done
