#!/usr/bin/env bash
# Generates TypeScript types from openapi/ecohub.json with openapi-typescript (npm) and
# compiles them with `tsc --strict`; fails on any warning or error, and on any operation of the
# document that the generated `paths` lacks (issue 11: partners generate clients from the
# document). Runs offline once the tools are installed (`.ci/run` installs the pinned versions
# into a temporary folder):
#   bash tests/openapi/typescript-client.sh [folder whose node_modules/.bin has openapi-typescript and tsc]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=${1:-.}
bin="$prefix/node_modules/.bin"
for tool in openapi-typescript tsc; do
  [ -x "$bin/$tool" ] || { echo "missing $bin/$tool (npm install --prefix $prefix openapi-typescript typescript)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Generation: only its banner and the line naming the file written are expected.
"$bin/openapi-typescript" "$root/openapi/ecohub.json" -o "$work/ecohub.ts" >"$work/generate.out" 2>&1 ||
  { cat "$work/generate.out" >&2; exit 1; }
if grep -v -e '^✨ openapi-typescript' -e '^🚀 .* → ' -e '^[[:space:]]*$' "$work/generate.out" >/dev/null; then
  echo "openapi-typescript warned about openapi/ecohub.json:" >&2
  cat "$work/generate.out" >&2
  exit 1
fi

# 2. Coverage: a type per operation of the document, each of which must be an operation of
# the generated `paths` (a missing path fails to compile; a missing method is `never`).
node - "$root/openapi/ecohub.json" >"$work/coverage.ts" <<'JS'
const doc = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const lines = [
  'import type { paths } from "./ecohub";',
  "type Operation<T> = [T] extends [never] ? false : [T] extends [undefined] ? false : true;",
];
let n = 0;
for (const [path, item] of Object.entries(doc.paths)) {
  for (const method of methods) {
    if (item[method]) {
      lines.push(`export const op${n++}: Operation<paths[${JSON.stringify(path)}][${JSON.stringify(method)}]> = true;`);
    }
  }
}
lines.push(`export const operations = ${n};`);
console.log(lines.join("\n"));
JS
operations=$(grep -c '^export const op' "$work/coverage.ts")

# 3. Compilation: strict, no output expected.
(cd "$work" && "$bin/tsc" --strict --noEmit --target es2022 --module es2022 \
  --moduleResolution bundler ecohub.ts coverage.ts) >"$work/tsc.out" 2>&1 || true
if [ -s "$work/tsc.out" ]; then
  echo "tsc --strict found problems in the generated types:" >&2
  cat "$work/tsc.out" >&2
  exit 1
fi
echo "openapi-typescript: $operations operations typed, tsc --strict clean"
