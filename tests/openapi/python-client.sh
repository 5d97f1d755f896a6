#!/usr/bin/env bash
# Generates a Python client from openapi/ecohub.json with openapi-python-client (PyPI) and
# fails on any warning: partners generate clients from the document, and the generator drops
# operations it cannot model (issue 11). Runs offline once the generator is installed
# (`.ci/run` installs the pinned version into a virtualenv):
#   bash tests/openapi/python-client.sh [path to openapi-python-client]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
generator=${1:-openapi-python-client}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'post_hooks: []\n' >"$work/config.yaml" # no formatter: only the generator's own findings
(cd "$work" && "$generator" generate --path "$root/openapi/ecohub.json" --meta none \
  --config "$work/config.yaml") >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
if grep -v -e '^Generating ' -e '^[[:space:]]*$' "$work/out" >/dev/null; then
  echo "openapi-python-client warned about openapi/ecohub.json:" >&2
  cat "$work/out" >&2
  exit 1
fi
echo "openapi-python-client: $(ls "$work"/*/api | wc -l) API groups, no warnings"
