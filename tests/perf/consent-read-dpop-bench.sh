#!/usr/bin/env bash
# Consent-checked, access-recorded reads with a DPoP-bound (sender-constrained, RFC 9449)
# access token through the real hub, beside the bare protected GET, alternating in one session
# with wrk on loopback. Run on demand:
#   bash tests/perf/consent-read-dpop-bench.sh [rounds] [seconds] [connections]
# Same setup as consent-read-bench.sh, but the recipient's token is bound to an ES256 key
# (refresh grant with a DPoP proof: tests/e2e/examples/consent_token.rs --dpop), and every
# request carries a fresh proof signed by that key (unique jti, ath of the token): the hub
# verifies the proof's signature and claims and records its jti against replay on each request,
# on top of everything the bearer benchmark does. Proofs are signed just before each round
# (tests/e2e/examples/dpop_proofs.rs; they are valid for 60 s), one file per wrk thread so
# none is sent twice. Needs wrk (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-8}
conns=${3:-64}
per_second=${PROOFS_PER_SECOND:-40000} # proofs signed per second of a round (upper bound of req/s)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-auth --example bare_verify_server
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example consent_token --example dpop_proofs
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
setup=$("$target/release/examples/consent_token" "$hub" "$work/hub" --dpop "$work/dpop")
token=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["access_token"])' "$setup")
url="$hub/data/accounts"
proofs() { "$target/release/examples/dpop_proofs" "$work/dpop" "$token" "$url" "$1" 2 "$work/proofs"; }
proofs 1
curl -sf "$url" -H "Authorization: DPoP $token" -H "DPoP: $(head -1 "$work/proofs.0")" >/dev/null
curl -s "$hub/jwks" >"$work/jwks.json"
"$target/release/examples/bare_verify_server" 18181 "$work/jwks.json" "$hub" &
pids+=($!)
sleep 0.5
# The bare handler takes the same token as a bearer token (it checks the signature only).
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
proofs $((per_second * 2))
wrk -t2 -c"$conns" -d2s -s "$work/dpop.lua" "$url" >/dev/null # warm-up
for r in $(seq "$rounds"); do
  run "$work/bearer.lua" "http://127.0.0.1:18181/protected" >>"$work/bare.rps"
  proofs $((per_second * secs))
  run "$work/dpop.lua" "$url" >>"$work/hub.rps"
  echo "round $r: bare $(tail -1 "$work/bare.rps") | hub (DPoP) $(tail -1 "$work/hub.rps")" >&2
done
median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
read -r hr hp <<<"$(median <"$work/hub.rps")"
read -r br bp <<<"$(median <"$work/bare.rps")"
echo "| measurement (median of $rounds × ${secs}s, wrk -t2 -c$conns) | req/s | p99 |"
echo "|---|---|---|"
echo "| bare actix + ES256 verify, GET | $br | $bp |"
echo "| Ecohub GET /data/accounts, DPoP-bound token + fresh proof (consent-checked, access recorded) | $hr | $hp |"
echo "| ratio Ecohub / bare | $(python3 -c "print(round($hr/$br, 2))") | |"
accesses=$(curl -s "$hub/metrics" | awk '/^ecohub_store_events_total\{operation="append"\}/ {print $2}')
echo "(store appends during the session: $accesses — one DataAccessed per read)" >&2
