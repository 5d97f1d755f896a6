#!/usr/bin/env bash
# Token issuance as FAPI 2.0 partners do it: client_credentials with private_key_jwt client
# authentication (a fresh ES256 assertion per request), and the same with a fresh DPoP proof per
# request (DPoP-bound token). Ecohub vs node-oidc-provider 9 configured the same way
# (tests/perf/oidc-provider-fapi.mjs), alternating rounds in one session with wrk on loopback.
# Run on demand:
#   bash tests/perf/token-fapi-bench.sh [rounds] [seconds] [connections]
# Needs wrk (Debian package), node + npm (npm i oidc-provider@9 into a temp dir), openssl.
#
# The hub (release, embedded store with fsync per group commit, log level warn) gets a data
# recipient onboarded through the real routes, whose private_key_jwt client is registered with an
# ES256 key; node-oidc-provider gets a client `bench-fapi` with the same public key. The request
# bodies (and proofs) are signed just before each round by tests/e2e/examples/fapi_assertions.rs
# (PER_SECOND × seconds of the round, default 25000 for the hub and 8000 for node, upper bounds
# of the request rate), one file per wrk thread, so that none is sent twice: a round that runs
# out wraps around, and a replayed assertion is refused, which fails the round.
#
# What each side checks: signature, iss/sub/aud/exp/jti of the assertion, the client's
# registration (and at the hub its partner's standing, at their latest revisions), the `jti`
# once (the hub: durable and exact across instances, in the event store; node: its default
# in-memory LRU of 1,000 entries, per process); with DPoP the proof (signature, htm/htu, iat,
# jti once, same stores). After the rounds the script replays the first assertion of the first
# round on both sides and prints the answers (node accepts it again once 1,000 newer ones
# pushed it out of its LRU; Ecohub refuses it until it expires).
#
# With STORE=kurrentdb the hub runs on the KurrentDB backend (the protocol double, or the server
# named by ECOHUB_EVENTSTOREDB_URL), as in consent-read-bench.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
conns=${3:-32}
hub_rate=${PER_SECOND:-25000}
node_rate=${NODE_PER_SECOND:-8000}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${GEN_PID:-}" ] && kill "$GEN_PID" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example fapi_assertions
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

# --- the hub, and a partner client registered for private_key_jwt -----------------------
port=18280; hub="http://127.0.0.1:$port"
"$bin" serve --data-dir "$work/hub" --bind "127.0.0.1:$port" --log-level warn >"$work/hub.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
coproc GEN { exec "$target/release/examples/fapi_assertions" "$hub" "$work/hub"; }
read -r client <&"${GEN[0]}"
python3 -c 'import json,sys;print(json.dumps(json.loads(sys.argv[1])["jwks"]))' "$client" >"$work/client-jwks.json"
sign() { # target count out → files <out>.0 and <out>.1, written when this returns
  echo "$1 $2 2 $3" >&"${GEN[1]}"
  local answer
  read -r answer <&"${GEN[0]}"
  [ "$answer" = ok ] || { echo "generator: $answer" >&2; exit 1; }
}

# --- node-oidc-provider, the same client and key -----------------------------------------
mkdir -p "$work/oidc" && cp "$root/tests/perf/oidc-provider-fapi.mjs" "$work/oidc/"
(cd "$work/oidc" && npm init -y >/dev/null && npm pkg set type=module && npm i --silent oidc-provider@9 >/dev/null 2>&1 \
  && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out es256.pem 2>/dev/null)
(cd "$work/oidc" && PORT=3000 JWKS_FILE="$work/client-jwks.json" exec node oidc-provider-fapi.mjs 2>"$work/oidc.log") &
pids+=($!)
node="http://127.0.0.1:3000"
for _ in $(seq 100); do curl -s -o /dev/null "$node/.well-known/openid-configuration" && break; sleep 0.1; done

# --- one request of each kind by hand: 200, and DPoP-bound where a proof was sent ----------
post() { # url line → the response body (a non-200 answer fails the run)
  local body=${2%% *} proof=
  [ "$2" != "$body" ] && proof=${2#* }
  curl -sf "$1" -H 'Content-Type: application/x-www-form-urlencoded' ${proof:+-H "DPoP: $proof"} --data "$body" \
    || { echo "refused by $1: $(curl -s "$1" ${proof:+-H "DPoP: $proof"} --data "$body")" >&2; exit 1; }
}
for t in hub hub-dpop node node-dpop; do
  sign "$t" 1 "$work/check"
  url="$hub/token"; [[ $t == node* ]] && url="$node/token"
  kind=$(post "$url" "$(head -1 "$work/check.0")" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token_type"])')
  want=Bearer; [[ $t == *-dpop ]] && want=DPoP
  [ "$kind" = "$want" ] || { echo "$t: token_type $kind, expected $want" >&2; exit 1; }
done

cat >"$work/token.lua" <<'LUA'
-- Every request is formatted once, in init(), before the round starts: wrk shares the two
-- cores with the server it measures, so formatting per request (a headers table, the request
-- string) would be CPU taken from the hub (node-oidc-provider, single-threaded, leaves a core
-- free). The hub gained 8-10 % from this in one session (docs/benchmarks.md).
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  requests = {}
  for line in io.lines(args[1] .. "." .. id) do
    local body, proof = line:match("^(%S+) (%S+)$")
    local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
    if proof then headers["DPoP"] = proof end
    requests[#requests + 1] = wrk.format("POST", nil, headers, body or line)
  end
  n = 0
end
function request()
  n = n + 1
  if n > #requests then n = 1 end -- a replayed assertion is refused: the round then fails
  return requests[n]
end
LUA

run() { # target url → "req/s p99"; a round with any non-2xx answer is an error
  local rate=$hub_rate
  [[ $1 == node* ]] && rate=$node_rate
  sign "$1" $((rate * secs)) "$work/req"
  [ -f "$work/first.$1" ] || head -1 "$work/req.0" >"$work/first.$1"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/token.lua" "$2" -- "$work/req" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers from $2 ($1):" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}' "$work/wrk.out"
}
: >"$work/res-node" >"$work/res-hub" >"$work/res-node-dpop" >"$work/res-hub-dpop"
for r in $(seq "$rounds"); do
  run node "$node/token" >>"$work/res-node"
  run hub "$hub/token" >>"$work/res-hub"
  run node-dpop "$node/token" >>"$work/res-node-dpop"
  run hub-dpop "$hub/token" >>"$work/res-hub-dpop"
  echo "round $r: node $(tail -1 "$work/res-node") | hub $(tail -1 "$work/res-hub") |" \
    "node+DPoP $(tail -1 "$work/res-node-dpop") | hub+DPoP $(tail -1 "$work/res-hub-dpop")" >&2
done

# --- the first assertion of the first round, replayed (still unexpired) -------------------
replay() { # url line → HTTP status
  local body=${2%% *}
  curl -s -o /dev/null -w '%{http_code}' "$1" -H 'Content-Type: application/x-www-form-urlencoded' --data "$body"
}
node_replay=$(replay "$node/token" "$(cat "$work/first.node")")
hub_replay=$(replay "$hub/token" "$(cat "$work/first.hub")")

median() { sort -n -k1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
read -r n1 np1 <<<"$(median <"$work/res-node")"
read -r h1 hp1 <<<"$(median <"$work/res-hub")"
read -r n2 np2 <<<"$(median <"$work/res-node-dpop")"
read -r h2 hp2 <<<"$(median <"$work/res-hub-dpop")"
ratio() { python3 -c "print(round($1/$2, 2))"; }
echo "| client_credentials, private_key_jwt ES256 (median of $rounds × ${secs}s, wrk -t2 -c$conns) | node-oidc-provider 9 req/s (p99) | Ecohub req/s (p99) | ratio (target ≥ 5) |"
echo "|---|---|---|---|"
echo "| fresh assertion per request | $n1 ($np1) | $h1 ($hp1) | $(ratio "$h1" "$n1") |"
echo "| fresh assertion + DPoP proof per request (DPoP-bound token) | $n2 ($np2) | $h2 ($hp2) | $(ratio "$h2" "$n2") |"
echo "| replay of the first assertion after the rounds (HTTP status) | $node_replay | $hub_replay | |"
appends=$(curl -s "$hub/metrics" | awk '/^ecohub_store_events_total\{operation="append"\}/ {print $2}')
echo "(hub store events appended during the session: $appends — JtisUsed groups of assertion and proof jtis)" >&2
