#!/usr/bin/env bash
# API fuzzing (issue 11): Schemathesis 4 runs `openapi/ecohub.json` against the real `ecohub`
# binary, once per identity, so that the operations an anonymous caller only ever gets 401/403
# from are reached too:
#   anonymous — no credentials;
#   partner   — a data recipient's consent-bound access token (scope data:read), obtained
#               through the real flow (PAR, the customer signs in and approves on the real
#               pages, code exchange with PKCE: tests/e2e/examples/consent_token.rs);
#   partner-client — the same recipient (also an offer partner): its client_credentials token
#               for its own APIs (consents, webhooks and notifications, co-branding, its
#               application; private_key_jwt), its own id in the paths that name a partner, and
#               a client_secret_basic client of its for the endpoints that authenticate the
#               client (/token, /par, /introspect, /revoke);
#   customer  — the `ecohub_session` cookie of that customer, signed in through POST /login,
#               and the session's CSRF token in `x-csrf-token`;
#   registration — a client's registration access token, on its RFC 7592 routes only
#               (/register/{client_id}, which may delete it);
#   admin     — a staff client with `admin audit offers:manage offers:decide data:publish`.
# The hub and Schemathesis run in a network namespace of their own with only loopback
# (`unshare --net`, as root): the webhook and subscription URLs Schemathesis registers are
# pushed to by the hub, and must reach no other host.
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
# partner-client customer registration admin"; the order matters: the partner-client run may
# revoke the customer's consent only after the consent-bound token's run, and the admin run,
# which can change the most, comes last).
set -euo pipefail
if [ -z "${FUZZ_IN_NETNS:-}" ]; then
  exec env FUZZ_IN_NETNS=1 unshare --net -- bash -c 'ip link set lo up && exec bash "$@"' \
    bash "$0" "$@"
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
st=${1:-schemathesis}
bin=${ECOHUB_BIN:-$root/target/debug/ecohub}
consent_token=${CONSENT_TOKEN_BIN:-$(dirname "$bin")/examples/consent_token}
examples=${FUZZ_EXAMPLES:-50}
seed=${FUZZ_SEED:-11}
workers=${FUZZ_WORKERS:-1}
identities=${FUZZ_IDENTITIES:-anonymous partner partner-client customer registration admin}
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
# partner's reads reach the handlers (429 is documented, but would hide everything behind it);
# a notification poll waits 0.1 s, not 10 s, for a notification to come.
cat >"$work/ecohub.toml" <<TOML
[auth]
access_token_lifetime_secs = 3600
[sharing]
read_per_second = 1000000.0
read_burst = 1000000.0
publish_per_second = 1000000.0
publish_burst = 1000000.0
poll_wait_ms = 100
TOML
"$bin" serve --config "$work/ecohub.toml" --data-dir "$work/hub" --bind "127.0.0.1:$port" \
  --log-level warn >"$work/hub.log" 2>&1 &
hub_pid=$!
for _ in $(seq 200); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done
curl -sf "$hub/health/ready" >/dev/null || { cat "$work/hub.log" >&2; exit 1; }

json() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# Partner: a data recipient, a customer ("bench") with 20 published accounts, a consent the
# customer authorised on the real pages; prints the consent-bound token, an admin token, the
# recipient's client_credentials token and id, and two more clients of the recipient.
setup=$("$consent_token" "$hub" "$work/hub")
partner_token=$(json "$setup" access_token)
maker=$(json "$setup" admin_token)
client_token=$(json "$setup" consents_token)
partner_id=$(json "$setup" partner_id)
client() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]][sys.argv[3]])' "$setup" "$1" "$2"; }
basic_id=$(client basic_client client_id)
basic_secret=$(client basic_client client_secret)
managed_id=$(client managed_client client_id)
managed_token=$(client managed_client registration_access_token)

# Admin: a staff client with every staff scope, client_credentials by client_secret_basic.
client=$(curl -sf "$hub/admin/clients" -H "Authorization: Bearer $maker" \
  -H 'Content-Type: application/json' \
  -d '{"description":"schemathesis staff","scope":"admin audit offers:manage offers:decide data:publish"}')
admin_token=$(json "$(curl -sf "$hub/token" -u "$(json "$client" client_id):$(json "$client" client_secret)" \
  -d grant_type=client_credentials -d 'scope=admin audit offers:manage offers:decide data:publish')" access_token)

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
# The session's CSRF token, as the dashboard's forms carry it (the customer API takes it in
# `x-csrf-token`).
session_csrf=$(curl -sf "$hub/dashboard" -H "Cookie: $session" |
  sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$session_csrf" ] || { echo "no CSRF token on the dashboard" >&2; exit 1; }

failed=()
summary=()
start_all=$SECONDS
for identity in $identities; do
  # The identity's credentials go through Schemathesis' OpenAPI-aware auth: each only to the
  # operations whose security scheme names it, so that the checks that drop or corrupt
  # credentials (ignored_auth, negative_data_rejection) know what they removed.
  config="$work/$identity.toml"
  cp "$root/tests/fuzz/schemathesis.toml" "$config"
  only=()
  case $identity in
    anonymous) ;;
    partner) printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$partner_token" >>"$config" ;;
    partner-client)
      printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$client_token" >>"$config"
      printf '\n[auth.openapi.basic]\nusername = "%s"\npassword = "%s"\n' "$basic_id" "$basic_secret" >>"$config"
      printf '\n[parameters]\n"path.partner_id" = "%s"\n' "$partner_id" >>"$config" ;;
    customer)
      printf '\n[auth.openapi.customer_session]\napi_key = "%s"\n' "${session#ecohub_session=}" >>"$config"
      printf '\n[parameters]\n"header.x-csrf-token" = "%s"\n' "$session_csrf" >>"$config" ;;
    registration)
      printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$managed_token" >>"$config"
      printf '\n[parameters]\n"path.client_id" = "%s"\n' "$managed_id" >>"$config"
      only=(--include-path '/register/{client_id}') ;;
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
    --request-timeout 10 --output-truncate true "${only[@]}" "${report[@]}") >"$work/$identity.out" 2>&1 || rc=$?
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
