#!/usr/bin/env bash
# API fuzzing (issue 11): Schemathesis 4 runs `openapi/ecohub.json` against the real `ecohub`
# binary, once per identity, so that the operations an anonymous caller only ever gets 401/403
# from are reached too:
#   anonymous — no credentials;
#   partner   — a data recipient's consent-bound access token (scope data:read), obtained
#               through the real flow (PAR, the customer signs in and approves on the real
#               pages, code exchange with PKCE: tests/e2e/examples/consent_token.rs);
#   partner-consents — the same recipient's client_credentials token for the consent API
#               (consents:read consents:write, private_key_jwt);
#   customer  — the `ecohub_session` cookie of that customer, signed in through POST /login;
#   admin     — a staff client with `admin audit offers:manage data:publish`.
# Every run uses all checks (`checks.enabled = true` in the configuration: `--checks all` on the
# command line would override its per-operation exclusions), a fixed seed and a bounded number of examples per operation;
# any failure fails the script. False positives are excluded by name, with the reason, in
# tests/fuzz/schemathesis.toml (never a check turned off wholesale).
#
#   bash tests/fuzz/schemathesis.sh [path to the schemathesis executable]
#
# Builds nothing: the hub is $ECOHUB_BIN (default target/debug/ecohub) and the consent flow is
# $CONSENT_TOKEN_BIN (default the `consent_token` example beside it, in <profile>/examples/),
# both of which `cargo test --workspace` builds. Only loopback is touched. Tunables:
# FUZZ_EXAMPLES (examples per operation, default 50), FUZZ_SEED (default 11), FUZZ_WORKERS
# (default 1: with 2, CPython 3.11 once raised a SystemError inside Schemathesis), FUZZ_REPORT_DIR
# (JUnit and VCR reports, one folder per identity), FUZZ_IDENTITIES (default "anonymous partner
# partner-consents customer admin"; the order matters: the partner-consents run may revoke the
# customer's consent only after the consent-bound token's run, and the admin run, which can
# change the most, comes last).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
st=${1:-schemathesis}
bin=${ECOHUB_BIN:-$root/target/debug/ecohub}
consent_token=${CONSENT_TOKEN_BIN:-$(dirname "$bin")/examples/consent_token}
examples=${FUZZ_EXAMPLES:-50}
seed=${FUZZ_SEED:-11}
workers=${FUZZ_WORKERS:-1}
identities=${FUZZ_IDENTITIES:-anonymous partner partner-consents customer admin}
for f in "$bin" "$consent_token"; do
  [ -x "$f" ] || { echo "missing $f (run cargo test --workspace first, or set ECOHUB_BIN)" >&2; exit 1; }
done
export ECOHUB_BIN="$bin" # the consent flow's CLI steps (admin bootstrap, customers add)

work=$(mktemp -d)
hub_pid=
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hub="http://127.0.0.1:$port"
# Tokens outlive the whole run; the sharing rate limits are raised out of the way so that the
# partner's reads reach the handlers (429 is documented, but would hide everything behind it).
cat >"$work/ecohub.toml" <<TOML
[auth]
access_token_lifetime_secs = 3600
[sharing]
read_per_second = 1000000.0
read_burst = 1000000.0
publish_per_second = 1000000.0
publish_burst = 1000000.0
TOML
"$bin" serve --config "$work/ecohub.toml" --data-dir "$work/hub" --bind "127.0.0.1:$port" \
  --log-level warn >"$work/hub.log" 2>&1 &
hub_pid=$!
for _ in $(seq 200); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
curl -sf "$hub/health/ready" >/dev/null || { cat "$work/hub.log" >&2; exit 1; }

json() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# Partner: a data recipient, a customer ("bench") with 20 published accounts, a consent the
# customer authorised on the real pages; prints the consent-bound token and an admin token.
setup=$("$consent_token" "$hub" "$work/hub")
partner_token=$(json "$setup" access_token)
maker=$(json "$setup" admin_token)
consents_token=$(json "$setup" consents_token)

# Admin: a staff client with every staff scope, client_credentials by client_secret_basic.
client=$(curl -sf "$hub/admin/clients" -H "Authorization: Bearer $maker" \
  -H 'Content-Type: application/json' \
  -d '{"description":"schemathesis staff","scope":"admin audit offers:manage data:publish"}')
admin_token=$(json "$(curl -sf "$hub/token" -u "$(json "$client" client_id):$(json "$client" client_secret)" \
  -d grant_type=client_credentials -d 'scope=admin audit offers:manage data:publish')" access_token)

# Customer: sign in as "bench" (consent_token's customer and password) through the login form.
login_page=$(curl -sf -D "$work/login.headers" "$hub/login")
csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$login_page" | head -1)
csrf_cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(ecohub_login_csrf=[^;]*\).*/\1/p' "$work/login.headers")
curl -s -o /dev/null -D "$work/session.headers" "$hub/login" -H "Cookie: $csrf_cookie" \
  --data-urlencode username=bench --data-urlencode 'password=correct horse battery staple' \
  --data-urlencode "csrf_token=$csrf" --data-urlencode return_to=/dashboard
session=$(sed -n 's/^[Ss]et-[Cc]ookie: \(ecohub_session=[^;]*\).*/\1/p' "$work/session.headers" | head -1)
[ -n "$session" ] || { echo "customer sign-in failed:" >&2; cat "$work/session.headers" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "$hub/customer/consents" -H "Cookie: $session")
[ "$status" = 200 ] || { echo "customer session refused: $status" >&2; exit 1; }

failed=()
summary=()
start_all=$SECONDS
for identity in $identities; do
  # The identity's credentials go through Schemathesis' OpenAPI-aware auth: each only to the
  # operations whose security scheme names it, so that the checks that drop or corrupt
  # credentials (ignored_auth, negative_data_rejection) know what they removed.
  config="$work/$identity.toml"
  cp "$root/tests/fuzz/schemathesis.toml" "$config"
  case $identity in
    anonymous) ;;
    partner) printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$partner_token" >>"$config" ;;
    partner-consents) printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$consents_token" >>"$config" ;;
    customer) printf '\n[auth.openapi.customer_session]\napi_key = "%s"\n' "${session#ecohub_session=}" >>"$config" ;;
    admin) printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$admin_token" >>"$config" ;;
    *) echo "unknown identity $identity" >&2; exit 2 ;;
  esac
  echo "=== schemathesis: $identity ($examples examples per operation, seed $seed)" >&2
  start=$SECONDS
  rc=0
  report=()
  [ -n "${FUZZ_REPORT_DIR:-}" ] && report=(--report junit,vcr --report-dir "$FUZZ_REPORT_DIR/$identity")
  (cd "$work" && "$st" --no-color --config-file "$config" run \
    "$root/openapi/ecohub.json" --url "$hub" --seed "$seed" \
    --max-examples "$examples" --workers "$workers" --generation-database none \
    --request-timeout 10 --output-truncate true "${report[@]}") >"$work/$identity.out" 2>&1 || rc=$?
  took=$((SECONDS - start))
  # The warnings (which operations only ever got 401/403, …) and the closing summary
  # (operations, test cases, failures), without the progress lines.
  if grep -q '^=* WARNINGS' "$work/$identity.out"; then
    sed -n '/^=* WARNINGS/,$p' "$work/$identity.out" >&2
  else
    sed -n '/^=* SUMMARY/,$p' "$work/$identity.out" >&2
  fi
  if [ "$rc" != 0 ]; then
    echo "--- $identity: full output" >&2
    cat "$work/$identity.out" >&2
    failed+=("$identity")
  fi
  summary+=("$identity: exit $rc in ${took}s")
done
if ! kill -0 "$hub_pid" 2>/dev/null; then
  echo "the hub died during the run:" >&2
  tail -50 "$work/hub.log" >&2
  failed+=(hub)
fi
printf '%s\n' "${summary[@]}" >&2
echo "schemathesis: $((SECONDS - start_all))s for: $identities" >&2
if [ "${#failed[@]}" -gt 0 ]; then
  echo "schemathesis: failures for ${failed[*]}" >&2
  exit 1
fi
echo "schemathesis: no failures for $identities"
