#!/usr/bin/env bash
# Token issuance and a bearer-protected GET: Ecohub vs node-oidc-provider and vs a bare actix
# verify handler, on loopback with wrk, alternating rounds in one session. Run on demand:
#   bash tests/perf/token-bench.sh [rounds] [seconds]
# Needs wrk (Debian package), node + npm (npm i oidc-provider@9 into a temp dir), openssl.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
anchors="$root/../shared/perf-anchors"
rounds=${1:-3}
secs=${2:-10}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-auth --example bare_verify_server
bin="$root/target/release/ecohub"
bare="$root/target/release/examples/bare_verify_server"

# --- the hub: an admin client (client_secret_basic), tokens with scope admin -------------
hub_port=18080; hub="http://127.0.0.1:$hub_port"
creds=$("$bin" admin bootstrap --data-dir "$work/hub")
id=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["client_id"])' "$creds")
secret=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["client_secret"])' "$creds")
"$bin" serve --data-dir "$work/hub" --bind "127.0.0.1:$hub_port" --log-level warn >"$work/hub.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
cat >"$work/hub-token.lua" <<LUA
wrk.method = "POST"
wrk.body   = "grant_type=client_credentials&scope=admin"
wrk.headers["Content-Type"]  = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
token=$(curl -s -u "$id:$secret" -d grant_type=client_credentials -d scope=admin "$hub/token" | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
cat >"$work/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
curl -s "$hub/jwks" >"$work/jwks.json"

# --- the bare verify handler -------------------------------------------------------------
"$bare" 18081 "$work/jwks.json" "$hub" &
pids+=($!)

# --- node-oidc-provider (the anchor) -----------------------------------------------------
mkdir -p "$work/oidc" && cp "$anchors/oidc-provider-server.mjs" "$anchors/wrk-token.lua" "$work/oidc/"
(cd "$work/oidc" && npm init -y >/dev/null && npm pkg set type=module && npm i --silent oidc-provider@9 >/dev/null 2>&1 \
  && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out es256.pem 2>/dev/null)
(cd "$work/oidc" && PORT=3000 exec node oidc-provider-server.mjs 2>"$work/oidc.log") &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:3000/.well-known/openid-configuration" && break; sleep 0.1; done
curl -sf "http://127.0.0.1:18081/protected" -H "Authorization: Bearer $token" >/dev/null

run() { # → req/s; a round with any non-2xx answer is an error
  wrk -t2 -c32 -d"${secs}s" --latency "$@" >"$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "non-2xx answers ($*):" >&2
    cat "$work/wrk.out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {print $2}' "$work/wrk.out"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$work/hub-token" >"$work/node-token" >"$work/hub-get" >"$work/bare-get"
for r in $(seq "$rounds"); do
  run -s "$work/oidc/wrk-token.lua" http://127.0.0.1:3000/token >>"$work/node-token"
  run -s "$work/hub-token.lua" "$hub/token" >>"$work/hub-token"
  run -s "$work/bearer.lua" "http://127.0.0.1:18081/protected" >>"$work/bare-get"
  run -s "$work/bearer.lua" "$hub/admin/partners?page_size=1" >>"$work/hub-get"
  echo "round $r done" >&2
done
ht=$(median <"$work/hub-token"); nt=$(median <"$work/node-token")
hg=$(median <"$work/hub-get"); bg=$(median <"$work/bare-get")
echo "| measurement | req/s (median of $rounds × ${secs}s, wrk -t2 -c32) |"
echo "|---|---|"
echo "| node-oidc-provider 9, client_credentials (JWT ES256) | $nt |"
echo "| Ecohub /token, client_credentials (JWT ES256) | $ht |"
echo "| ratio Ecohub / node-oidc-provider (target ≥ 5) | $(python3 -c "print(round($ht/$nt, 2))") |"
echo "| bare actix + ES256 verify, GET | $bg |"
echo "| Ecohub bearer-protected GET /admin/partners | $hg |"
echo "| ratio Ecohub / bare (target ≥ 0.8) | $(python3 -c "print(round($hg/$bg, 2))") |"
