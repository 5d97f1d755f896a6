#!/usr/bin/env bash
# Offer decisions through the real hub, beside a bare protected GET, alternating in one session
# with wrk on loopback. Run on demand:
#   bash tests/perf/decision-bench.sh [rounds] [seconds] [connections] [propositions] [customers]
# The hub (release, embedded store, log level warn) gets a bank-app client (offers:decide) and
# PROPOSITIONS published propositions for every customer (no audience, no co-brand partner;
# each drafted, submitted, approved by another product manager and published through the API).
# Each measured request is `POST /offers/decisions` for a customer drawn at random among
# CUSTOMERS ids: it verifies the token, reads the customer's objection, the catalogues and
# the consents to the bank, screens and ranks every proposition, applies the contact policies
# on the customer's ledger, and appends its OfferPresented events (up to 3) durably before
# answering. The baseline is the bare actix handler that only verifies the same ES256 token
# (services/auth/examples/bare_verify_server). A round with any non-2xx answer fails the run.
# Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
conns=${3:-32}
propositions=${4:-100}
customers=${5:-10000}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-auth --example bare_verify_server
bin="$target/release/ecohub"
port=18190; hub="http://127.0.0.1:$port"
cat >"$work/ecohub.toml" <<TOML
[auth]
access_token_lifetime_secs = 3600
TOML
"$bin" serve --config "$work/ecohub.toml" --data-dir "$work/hub" --bind "127.0.0.1:$port" \
  --log-level warn >"$work/hub.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
json() { python3 -c 'import json,sys;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
admin=$("$bin" admin bootstrap --data-dir "$work/hub")
basic() { # id secret scope → access token
  curl -sf -u "$1:$2" "$hub/token" -d grant_type=client_credentials --data-urlencode "scope=$3" | json access_token
}
admin_token=$(basic "$(echo "$admin" | json client_id)" "$(echo "$admin" | json client_secret)" admin)
client() { # description scope → access token
  local c
  c=$(curl -sf -H "authorization: Bearer $admin_token" -H 'content-type: application/json' \
    "$hub/admin/clients" -d "{\"description\":\"$1\",\"scope\":\"$2\"}")
  basic "$(echo "$c" | json client_id)" "$(echo "$c" | json client_secret)" "$2"
}
pm1=$(client "pm one" offers:manage)
pm2=$(client "pm two" offers:manage)
app=$(client "bank app" offers:decide)
for i in $(seq "$propositions"); do
  id=$(curl -sf -H "authorization: Bearer $pm1" -H 'content-type: application/json' "$hub/offers/propositions" -d "{
    \"name\": \"Proposition $i\", \"description\": \"bench\",
    \"product\": {\"kind\": \"savings\", \"code\": \"P$i\", \"name\": \"Product $i\"},
    \"availability\": {\"audience\": {}, \"channels\": [\"bank_app\"]},
    \"pricing\": {\"rules\": [], \"default\": {\"rate_percent\": 3.1}},
    \"priority\": $((i % 50 + 1)), \"business_value\": $((i % 37 + 10))}" | json id)
  curl -sf -o /dev/null -X POST -H "authorization: Bearer $pm1" "$hub/offers/propositions/$id/versions/1/submit"
  curl -sf -o /dev/null -X POST -H "authorization: Bearer $pm2" "$hub/offers/propositions/$id/versions/1/approve"
  curl -sf -o /dev/null -X POST -H "authorization: Bearer $pm2" "$hub/offers/propositions/$id/versions/1/publish"
done
python3 - "$customers" >"$work/customers.txt" <<'PY'
import sys, uuid
for i in range(int(sys.argv[1])):
    print(uuid.UUID(int=(0x0190f5c2_8b1e_7c3a_9d4f_000000000000 + i)))
PY
url="$hub/offers/decisions"
curl -sf -o /dev/null -H "authorization: Bearer $app" -H 'content-type: application/json' "$url" \
  -d '{"customer_id":"warm-up","channel":"bank_app","placement":"home_banner"}'
curl -s "$hub/jwks" >"$work/jwks.json"
"$target/release/examples/bare_verify_server" 18191 "$work/jwks.json" "$hub" &
pids+=($!)
sleep 0.5
curl -sf "http://127.0.0.1:18191/protected" -H "Authorization: Bearer $app" >/dev/null
cat >"$work/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $app"
LUA
cat >"$work/decide.lua" <<LUA
local ids = {}
function init(args)
  for line in io.lines("$work/customers.txt") do ids[#ids + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
function request()
  local body = '{"customer_id":"' .. ids[math.random(#ids)] .. '","channel":"bank_app","placement":"home_banner"}'
  return wrk.format("POST", nil, {["Authorization"] = "Bearer $app", ["Content-Type"] = "application/json"}, body)
end
LUA
run() { # script url → "req/s p99"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$1" "$2" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers from $2:" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}' "$work/wrk.out"
}
: >"$work/hub.rps" >"$work/bare.rps"
wrk -t2 -c"$conns" -d2s -s "$work/decide.lua" "$url" >/dev/null # warm-up
for r in $(seq "$rounds"); do
  run "$work/bearer.lua" "http://127.0.0.1:18191/protected" >>"$work/bare.rps"
  run "$work/decide.lua" "$url" >>"$work/hub.rps"
  echo "round $r: bare $(tail -1 "$work/bare.rps") | hub $(tail -1 "$work/hub.rps")" >&2
done
median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
read -r hr hp <<<"$(median <"$work/hub.rps")"
read -r br bp <<<"$(median <"$work/bare.rps")"
echo "| measurement (median of $rounds × ${secs}s, wrk -t2 -c$conns; $propositions propositions, $customers customers) | req/s | p99 |"
echo "|---|---|---|"
echo "| bare actix + ES256 verify, GET | $br | $bp |"
echo "| Ecohub POST /offers/decisions (3 offers recorded per decision until the caps) | $hr | $hp |"
echo "| ratio Ecohub / bare | $(python3 -c "print(round($hr/$br, 2))") | |"
