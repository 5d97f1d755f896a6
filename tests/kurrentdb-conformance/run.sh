#!/usr/bin/env bash
# Conformance of the KurrentDB protocol double (shared/kurrentdb-double), checked by official
# clients we did not write (issue 16): starts the double on loopback (serve_double prints its
# connection string once it listens), runs the Python suite then the Node suite against it, and
# always stops it. Any failing check fails the script. `.ci/run` installs the pinned clients
# (kurrentdbclient 1.3.5 from PyPI, @kurrent/kurrentdb-client 1.3.1 from npm):
#   bash tests/kurrentdb-conformance/run.sh PYTHON NPM_PREFIX
#     PYTHON:      a python whose environment has kurrentdbclient
#     NPM_PREFIX:  a folder whose node_modules has @kurrent/kurrentdb-client
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/kurrentdb-conformance"
python=${1:?usage: run.sh PYTHON NPM_PREFIX}
prefix=${2:?usage: run.sh PYTHON NPM_PREFIX}
node_modules=$(cd "$prefix/node_modules" && pwd)
"$python" -c 'import kurrentdbclient' ||
  { echo "missing kurrentdbclient for $python (pip install kurrentdbclient==1.3.5)" >&2; exit 1; }
[ -f "$node_modules/@kurrent/kurrentdb-client/package.json" ] ||
  { echo "missing $node_modules/@kurrent/kurrentdb-client (npm install --prefix $prefix @kurrent/kurrentdb-client@1.3.1)" >&2; exit 1; }

(cd "$root" && cargo build --quiet --locked -p ecohub-kurrentdb-double --example serve_double)
double="$root/target/debug/examples/serve_double"

work=$(mktemp -d)
pid=
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

"$double" >"$work/address" 2>"$work/double.log" &
pid=$!
# The double binds its listener before it prints the connection string.
for _ in $(seq 1 100); do
  [ -s "$work/address" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/double.log" >&2; echo "the double exited" >&2; exit 1; }
  sleep 0.1
done
connection=$(head -n 1 "$work/address")
case "$connection" in
  kurrentdb://127.0.0.1:*'?tls=false') echo "double at $connection" ;;
  *) echo "the double printed no connection string (got: ${connection:-nothing})" >&2; exit 1 ;;
esac

# Each suite bounds its own waits; `timeout` bounds anything they missed.
timeout 300 "$python" "$here/python_client.py" "$connection"
KURRENTDB_CONNECTION_STRING=$connection KURRENTDB_NODE_MODULES=$node_modules \
  timeout 300 node --test-reporter=spec "$here/node_client.mjs"
echo "kurrentdb conformance: the official Python and Node.js clients pass against the double"
