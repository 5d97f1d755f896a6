#!/usr/bin/env bash
# Offer decisions through the real hub, beside a bare protected GET, alternating in one session
# with wrk on loopback. Run on demand:
#   bash tests/perf/decision-bench.sh [rounds] [seconds] [connections] [propositions] [customers] [personas]
# Defaults are issue 13's set-up: 1,000 published propositions, 100,000 customers with
# profiles, 100 personas. The hub (release, embedded store, log level warn) gets a bank-app
# client (offers:decide); tests/perf/decision-setup.py loads six profile attributes, the
# personas, the propositions (each drafted, submitted, approved by another product manager and
# published through the API; an audience of any of two personas, a parameter schema, two
# pricing rules and an add-on) and a profile per customer published by the bank.
# Each measured request is `POST /offers/decisions` for a customer drawn at random, with
# `amount` 15000: it verifies the token, reads the customer's objection, the catalogues, the
# consents to the bank and the profile, screens and ranks the propositions, applies the contact
# policies on the customer's ledger, and appends its OfferPresented events (up to 3) durably
# before answering. The baseline is the bare actix handler that only verifies the same ES256
# token (services/auth/examples/bare_verify_server). A round with any non-2xx answer fails
# the run. Needs wrk (Debian package). With PERF_OUT=file, `perf record` (DWARF call graphs,
# PERF_FREQ samples/s, default 299) profiles the hub during the last decision round.
# DAILY_MAX sets offers.policy.daily_max_per_channel (default 5, the product's default; 3650
# lets nearly every decision present offers and append).
# Around each of this build's decision rounds the hub's writer counters (`ecohub_store_writer`)
# are read: the summary gives the appends and events per group commit.
# With BASELINE=<another ecohub binary>, the loaded data directory is copied once set up, that
# binary serves the copy on port 18192 (same keys, same issuer, so the same token), and each
# round measures the decisions on the baseline and on this build one after the other: an A/B
# in one session, whose ratio is what to compare (the machine's speed drifts between runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
conns=${3:-32}
propositions=${4:-1000}
customers=${5:-100000}
personas=${6:-100}
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
issuer = "http://127.0.0.1:$port"
[offers.policy]
daily_max_per_channel = ${DAILY_MAX:-5}
[sharing]
publish_per_second = 100000.0
publish_burst = 100000.0
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
feed=$(client "bank feed" "admin data:publish")
python3 "$root/tests/perf/decision-setup.py" "$hub" "$pm1" "$pm2" "$feed" \
  "$propositions" "$personas" "$customers" "$work/customers.txt"
url="$hub"
if [ -n "${BASELINE:-}" ]; then
  # Stop the hub, copy its data (store and keys), serve the copy with the baseline binary.
  kill "${pids[0]}"
  while kill -0 "${pids[0]}" 2>/dev/null; do sleep 0.1; done
  cp -a "$work/hub" "$work/baseline"
  "$bin" serve --config "$work/ecohub.toml" --data-dir "$work/hub" --bind "127.0.0.1:$port" \
    --log-level warn >>"$work/hub.log" 2>&1 &
  pids[0]=$!
  "$BASELINE" serve --config "$work/ecohub.toml" --data-dir "$work/baseline" --bind 127.0.0.1:18192 \
    --log-level warn >"$work/baseline.log" 2>&1 &
  pids+=($!)
  for u in "$hub" http://127.0.0.1:18192; do
    for _ in $(seq 100); do curl -sf "$u/health/ready" >/dev/null && break; sleep 0.1; done
  done
fi
curl -sf -o /dev/null -H "authorization: Bearer $app" -H 'content-type: application/json' "$url/offers/decisions" \
  -d '{"customer_id":"warm-up","channel":"bank_app","placement":"home_banner","params":{"amount":15000}}'
curl -s "$hub/jwks" >"$work/jwks.json"
"$target/release/examples/bare_verify_server" 18191 "$work/jwks.json" "$hub" &
pids+=($!)
sleep 0.5
curl -sf "http://127.0.0.1:18191/protected" -H "Authorization: Bearer $app" >/dev/null
cat >"$work/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $app"
LUA
# Each decision names its customer in x-fapi-interaction-id (a UUID, echoed by the hub), so the
# closed loop knows whose offers a response holds. With LOOP=closed (the default) the customers
# accept each offer with its proposition's own rate (1 % to 20 %, fixed per proposition): the
# acceptances are queued and sent by the same connections as `POST /offers/responses`, so the
# outcomes the propensities learn from keep coming in as they would in production. LOOP=open
# sends decisions only (nobody ever accepts: every estimate decays with each presentation and
# the ranking rotates through all propositions, the worst case of the screening order).
cat >"$work/decide.lua" <<LUA
local ids = {}
local queue = {}
local closed = "${LOOP:-closed}" == "closed"
decisions, responses = 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines("$work/customers.txt") do ids[#ids + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
local rates = {}
local function rate(pid) -- the proposition's own acceptance rate, remembered
  local r = rates[pid]
  if r then return r end
  local h = 0
  for i = 1, #pid do h = (h * 31 + pid:byte(i)) % 1000003 end
  r = (1 + h % 20) / 100
  rates[pid] = r
  return r
end
local auth = "Bearer $app"
local decide_headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
local respond_headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
function request()
  local a = table.remove(queue)
  if a then
    responses = responses + 1
    local body = '{"customer_id":"' .. a[1] .. '","offer_id":"' .. a[2] .. '","response":"accepted"}'
    return wrk.format("POST", "/offers/responses", respond_headers, body)
  end
  decisions = decisions + 1
  local c = ids[math.random(#ids)]
  local body = '{"customer_id":"' .. c .. '","channel":"bank_app","placement":"home_banner","params":{"amount":15000}}'
  decide_headers["x-fapi-interaction-id"] = c
  return wrk.format("POST", "/offers/decisions", decide_headers, body)
end
offered, presented = 0, 0
-- The offers are read with plain searches (an offer's JSON starts
-- "offer_id":"<36>","proposition_id":"<36>"): wrk shares the two cores with the hub, and
-- pattern matching over every answer cost it 1.5 times the CPU per request (docs/benchmarks.md).
local OFFER, NEXT = '"offer_id":"', '","proposition_id":"'
function response(status, headers, body)
  local c = headers["x-fapi-interaction-id"]
  if not (c and body and body:find('"decision_id"', 1, true)) then return end
  local n = 0
  local _, e = body:find(OFFER, 1, true)
  while e do
    if body:sub(e + 37, e + 56) == NEXT then
      n = n + 1
      if closed and math.random() < rate(body:sub(e + 57, e + 92)) then
        queue[#queue + 1] = {c, body:sub(e + 1, e + 36)}
      end
    end
    _, e = body:find(OFFER, e + 37, true)
  end
  presented = presented + n
  if n > 0 then offered = offered + 1 end
end
function done(summary, latency, requests)
  local d, r, o, p = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    d = d + t:get("decisions"); r = r + t:get("responses")
    o = o + t:get("offered"); p = p + t:get("presented")
  end
  io.write(string.format("SENT %d decisions %d responses %d offered %d presented\n", d, r, o, p))
end
LUA
writer() { # the embedded store's writer counters: "commits N" lines, sorted
  curl -s "$hub/metrics" | sed -n 's/^ecohub_store_writer{counter="\([a-z_]*\)"} \([0-9]*\)$/\1 \2/p' | sort
}
run() { # script url → "req/s p99 [decisions/s]"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$1" "$2" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers from $2:" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  # req/s p99 [decisions/s responses/s decisions-with-offers/s offers/s]
  awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} /^SENT/ {d=$2; s=$4; o=$6; n=$8} END {
    if (d + s > 0) { f = r / (d + s); printf "%s %s %.0f %.0f %.0f %.0f\n", r, p, d * f, s * f, o * f, n * f }
    else print r, p }' "$work/wrk.out"
}
: >"$work/hub.rps" >"$work/bare.rps" >"$work/writer.rounds"
# Warm-up: the outcomes build up (WARMUP seconds, default 20).
wrk -t2 -c"$conns" -d"${WARMUP:-20}s" -s "$work/decide.lua" "$url" >/dev/null
if [ -n "${BASELINE:-}" ]; then
  : >"$work/baseline.rps"
  wrk -t2 -c"$conns" -d"${WARMUP:-20}s" -s "$work/decide.lua" http://127.0.0.1:18192 >/dev/null
fi
for r in $(seq "$rounds"); do
  run "$work/bearer.lua" "http://127.0.0.1:18191/protected" >>"$work/bare.rps"
  if [ -n "${BASELINE:-}" ]; then
    run "$work/decide.lua" http://127.0.0.1:18192 >>"$work/baseline.rps"
    echo "round $r: baseline $(tail -1 "$work/baseline.rps")" >&2
  fi
  if [ -n "${PERF_OUT:-}" ] && [ "$r" = "$rounds" ]; then
    # Profile the hub during the last decision round: PERF_OUT=/tmp/decide.perf.data. The
    # release build has no frame pointers: DWARF call graphs (PERF_CALL_GRAPH=fp for -g).
    perf record -F "${PERF_FREQ:-299}" --call-graph "${PERF_CALL_GRAPH:-dwarf,16384}" -p "${pids[0]}" -o "$PERF_OUT" -- sleep "$secs" 2>/dev/null &
    perf_pid=$!
  fi
  writer >"$work/writer.before"
  run "$work/decide.lua" "$url" >>"$work/hub.rps"
  writer >"$work/writer.after"
  # Appends and events per group commit in this round (the embedded store's writer counters).
  paste "$work/writer.before" "$work/writer.after" | awk '{d[$1] = $4 - $2} END {
    if (d["commits"] > 0) printf "%.2f %.2f %d\n", d["appends"] / d["commits"], d["events"] / d["commits"], d["commits"] }' >>"$work/writer.rounds"
  if [ -n "${perf_pid:-}" ]; then wait "$perf_pid"; fi
  echo "round $r: bare $(tail -1 "$work/bare.rps") | hub $(tail -1 "$work/hub.rps")" >&2
done
median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
read -r hr hp hd hs ho hn <<<"$(median <"$work/hub.rps")"
read -r br bp <<<"$(median <"$work/bare.rps")"
echo "| measurement (LOOP=${LOOP:-closed}, median of $rounds × ${secs}s after ${WARMUP:-20}s of warm-up, wrk -t2 -c$conns; $propositions propositions, $personas personas, $customers customers) | req/s | p99 |"
echo "|---|---|---|"
echo "| bare actix + ES256 verify, GET | $br | $bp |"
echo "| Ecohub, all requests: POST /offers/decisions and the closed loop's POST /offers/responses | $hr | $hp |"
echo "| of which decisions/s | ${hd:-$hr} | |"
echo "| of which responses/s (acceptances) | ${hs:-0} | |"
echo "| decisions/s that presented at least one offer (the others found every proposition capped) | ${ho:-?} | |"
echo "| offers presented/s (OfferPresented appended durably before each answer) | ${hn:-?} | |"
read -r wa we wc <<<"$(median <"$work/writer.rounds")"
echo "| appends (events) per group commit, this build's writer | ${wa:-?} (${we:-?}) | |"
echo "| ratio Ecohub / bare (all requests) | $(python3 -c "print(round($hr/$br, 2))") | |"
if [ -n "${BASELINE:-}" ]; then
  read -r ar ap ad _ <<<"$(median <"$work/baseline.rps")"
  echo "| baseline ($BASELINE), all requests | $ar | $ap |"
  echo "| of which decisions/s | ${ad:-$ar} | |"
  echo "| ratio this build / baseline (decisions/s) | $(python3 -c "print(round(${hd:-$hr}/${ad:-$ar}, 2))") | |"
fi
