#!/usr/bin/env bash
# Consent-checked, access-recorded reads through the real hub, beside a bare protected GET,
# alternating in one session with wrk on loopback. Run on demand:
#   bash tests/perf/consent-read-bench.sh [rounds] [seconds] [connections]
#   DPOP=1 bash tests/perf/consent-read-bench.sh [rounds] [seconds] [connections]
# The hub (release, embedded store, log level warn, read rate limit raised out of the way)
# gets a data recipient, a customer with 20 published accounts and a consent authorised
# through the real pages (tests/e2e/examples/consent_token.rs). Each measured request then
# verifies the token (signature, revocation, client, partner and consent at their latest
# revisions), reads the consent grant, serves the 20 accounts minimised to ReadAccountsBasic,
# and appends a durable DataAccessed event before answering. The baseline is the bare actix
# handler that only verifies the same ES256 token (services/auth/examples/bare_verify_server).
#
# With DPOP=1 the recipient's token is bound to an ES256 key (RFC 9449; a refresh grant with a
# DPoP proof: consent_token --dpop) and every request carries a fresh proof by that key
# (unique jti, ath of the token), which the hub verifies and records against replay on top of
# the rest. Proofs are signed just before each round (tests/e2e/examples/dpop_proofs.rs; they
# are valid for 60 s), PROOFS_PER_SECOND (default 40000, an upper bound of the request rate)
# per second of the round, one file per wrk thread so that none is sent twice.
#
# With STORE=kurrentdb the hub runs on the KurrentDB backend against the protocol double
# (shared/kurrentdb-double/examples/serve_double.rs, in memory, one node) — or against a real
# server when ECOHUB_EVENTSTOREDB_URL is set — instead of the embedded store.
#
# A round with any non-2xx answer (401, 429, …) fails the run. Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
conns=${3:-64}
dpop=${DPOP:-}
per_second=${PROOFS_PER_SECOND:-40000}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-auth --example bare_verify_server
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example consent_token --example dpop_proofs
bin="$target/release/ecohub"
if [ "${STORE:-}" = kurrentdb ]; then
  if [ -n "${ECOHUB_EVENTSTOREDB_URL:-}" ]; then
    export ECOHUB_STORE__URL="$ECOHUB_EVENTSTOREDB_URL"
  else
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-kurrentdb-double --example serve_double
    "$target/release/examples/serve_double" >"$work/double.url" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/double.url" ] && break; sleep 0.1; done
    export ECOHUB_STORE__URL="$(cat "$work/double.url")"
  fi
  echo "store: $ECOHUB_STORE__URL" >&2
fi

port=18180; hub="http://127.0.0.1:$port"; url="$hub/data/accounts"
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
setup=$("$target/release/examples/consent_token" "$hub" "$work/hub" ${dpop:+--dpop "$work/dpop"})
token=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["access_token"])' "$setup")
proofs() { "$target/release/examples/dpop_proofs" "$work/dpop" "$token" "$url" "$1" 2 "$work/proofs"; }
if [ -n "$dpop" ]; then
  proofs 1
  curl -sf "$url" -H "Authorization: DPoP $token" -H "DPoP: $(head -1 "$work/proofs.0")" >/dev/null
  label="Ecohub GET /data/accounts, DPoP-bound token + fresh proof (consent-checked, access recorded)"
else
  curl -sf "$url" -H "Authorization: Bearer $token" >/dev/null
  label="Ecohub GET /data/accounts (consent-checked, access recorded)"
fi
curl -s "$hub/jwks" >"$work/jwks.json"
"$target/release/examples/bare_verify_server" 18181 "$work/jwks.json" "$hub" &
pids+=($!)
sleep 0.5
# The bare handler takes the token as a bearer token (it checks the signature only).
curl -sf "http://127.0.0.1:18181/protected" -H "Authorization: Bearer $token" >/dev/null
cat >"$work/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat >"$work/dpop.lua" <<LUA
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  proofs = {}
  for line in io.lines("$work/proofs." .. id) do proofs[#proofs + 1] = line end
  n = 0
end
function request()
  n = n + 1
  if n > #proofs then n = 1 end -- a replayed proof is refused: the round then fails
  return wrk.format("GET", nil, {["Authorization"] = "DPoP $token", ["DPoP"] = proofs[n]})
end
LUA
hub_script="$work/bearer.lua"
[ -n "$dpop" ] && hub_script="$work/dpop.lua"

run() { # script url → "req/s p99"; a round with any non-2xx answer is an error
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$1" "$2" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers from $2:" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}' "$work/wrk.out"
}
: >"$work/hub.rps" >"$work/bare.rps"
[ -n "$dpop" ] && proofs $((per_second * 2))
wrk -t2 -c"$conns" -d2s -s "$hub_script" "$url" >/dev/null # warm-up
for r in $(seq "$rounds"); do
  run "$work/bearer.lua" "http://127.0.0.1:18181/protected" >>"$work/bare.rps"
  [ -n "$dpop" ] && proofs $((per_second * secs))
  run "$hub_script" "$url" >>"$work/hub.rps"
  echo "round $r: bare $(tail -1 "$work/bare.rps") | hub $(tail -1 "$work/hub.rps")" >&2
done
median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
read -r hr hp <<<"$(median <"$work/hub.rps")"
read -r br bp <<<"$(median <"$work/bare.rps")"
echo "| measurement (median of $rounds × ${secs}s, wrk -t2 -c$conns) | req/s | p99 |"
echo "|---|---|---|"
echo "| bare actix + ES256 verify, GET | $br | $bp |"
echo "| $label | $hr | $hp |"
echo "| ratio Ecohub / bare | $(python3 -c "print(round($hr/$br, 2))") | |"
accesses=$(curl -s "$hub/metrics" | awk '/^ecohub_store_events_total\{operation="append"\}/ {print $2}')
echo "(store appends during the session: $accesses — one DataAccessed per read)" >&2
