#!/usr/bin/env bash
# Wrong-secret flood against legitimate token requests on the same hub (issue 11 defect 7).
# A bootstrapped staff client (client_secret_basic) asks for tokens with its real secret
# (`-t1 -c<legit>`), alone and then while 32 connections send the same, known client id with
# a wrong secret (`-t1 -c32`); the phases alternate in one session, on loopback with wrk
# (which shares the 2 cores with the hub). Reports the flood's answers/s (and their statuses),
# the legitimate requests' req/s, p50 and p99 in both phases, and the hub's CPU. Run on demand:
#   bash tests/perf/secret-flood-bench.sh [rounds] [seconds] [legit connections]
# Needs wrk (Debian package), curl, python3. About 2 × rounds × seconds plus the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
secs=${2:-10}
legit_conns=${3:-4}
flood_conns=32
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
bin="$target/release/ecohub"

# --- the hub and its staff client -----------------------------------------------------------
port=18082; hub="http://127.0.0.1:$port"
creds=$("$bin" admin bootstrap --data-dir "$work/hub")
id=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["client_id"])' "$creds")
secret=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["client_secret"])' "$creds")
"$bin" serve --data-dir "$work/hub" --bind "127.0.0.1:$port" --log-level warn >"$work/hub.log" 2>&1 &
hub_pid=$!
pids+=("$hub_pid")
for _ in $(seq 100); do curl -sf "$hub/health/ready" >/dev/null && break; sleep 0.1; done

# Counts the answers by status (wrk's own summary only says "Non-2xx").
statuses='
counts = {}
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("counts")) do total[s] = (total[s] or 0) + n end
  end
  local out = {}
  for s, n in pairs(total) do table.insert(out, s .. "=" .. n) end
  table.sort(out)
  io.write("statuses " .. table.concat(out, " ") .. "\n")
end
'
lua() { # <file> <client_id:secret>
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.body   = "grant_type=client_credentials&scope=admin"
wrk.headers["Content-Type"]  = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s' "$2" | base64 -w0)"
$statuses
LUA
}
lua "$work/legit.lua" "$id:$secret"
lua "$work/flood.lua" "$id:wrong-$(head -c 16 /dev/urandom | base64 | tr -d '/+=')"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$id:wrong" -d grant_type=client_credentials -d scope=admin "$hub/token")
[ "$code" = 401 ] || { echo "a wrong secret got $code, not 401" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$hub_pid/stat"; }
hz=$(getconf CLK_TCK)
ms() { # wrk latency ("1.23ms", "850.00us", "1.02s") → ms
  python3 -c 'import re,sys
v,u=re.fullmatch(r"([0-9.]+)(us|ms|s|m)",sys.argv[1]).groups()
print(round(float(v)*{"us":0.001,"ms":1,"s":1000,"m":60000}[u],2))' "$1"
}
summary() { # <wrk output> → "req/s p50 p99 statuses"
  local rps p50 p99 st
  rps=$(awk '/Requests\/sec/ {print $2}' "$1")
  p50=$(ms "$(awk '$1 == "50%" {print $2}' "$1")")
  p99=$(ms "$(awk '$1 == "99%" {print $2}' "$1")")
  st=$(sed -n 's/^statuses //p' "$1")
  echo "$rps $p50 $p99 $st"
}
legit() { # <output file>; any answer but 200 fails the run
  wrk -t1 -c"$legit_conns" -d"${secs}s" --latency -s "$work/legit.lua" "$hub/token" >"$1"
  if grep -q "Non-2xx\|Socket errors" "$1"; then
    echo "legitimate requests failed:" >&2
    cat "$1" >&2
    exit 1
  fi
}

wrk -t1 -c"$legit_conns" -d2s -s "$work/legit.lua" "$hub/token" >/dev/null # warm-up
: >"$work/alone" >"$work/flooded" >"$work/flood"
for r in $(seq "$rounds"); do
  c0=$(cpu_ticks)
  legit "$work/a.out"
  c1=$(cpu_ticks)
  echo "$(summary "$work/a.out") $(((c1 - c0) * 100 / hz / secs))" >>"$work/alone"

  # The flood starts first and ends last, so the whole legitimate run is under it.
  wrk -t1 -c"$flood_conns" -d"$((secs + 2))s" --latency -s "$work/flood.lua" "$hub/token" >"$work/f.out" &
  flood_pid=$!
  pids+=("$flood_pid")
  sleep 1
  c0=$(cpu_ticks)
  legit "$work/l.out"
  c1=$(cpu_ticks)
  wait "$flood_pid"
  if grep -q "Socket errors" "$work/f.out" || [ -z "$(sed -n 's/^statuses //p' "$work/f.out")" ]; then
    echo "flood run failed:" >&2
    cat "$work/f.out" >&2
    exit 1
  fi
  echo "$(summary "$work/l.out") $(((c1 - c0) * 100 / hz / secs))" >>"$work/flooded"
  echo "$(summary "$work/f.out")" >>"$work/flood"
  echo "round $r done" >&2
done

median() { # <file> <column>
  awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
echo "| phase (median of $rounds × ${secs}s) | legitimate req/s (wrk -t1 -c$legit_conns) | p50 ms | p99 ms | hub CPU % | flood answers/s (wrk -t1 -c$flood_conns) | flood p50 / p99 ms | flood statuses (last round) |"
echo "|---|---|---|---|---|---|---|---|"
echo "| legitimate alone | $(median "$work/alone" 1) | $(median "$work/alone" 2) | $(median "$work/alone" 3) | $(median "$work/alone" 5) | – | – | – |"
echo "| legitimate under the flood | $(median "$work/flooded" 1) | $(median "$work/flooded" 2) | $(median "$work/flooded" 3) | $(median "$work/flooded" 5) | $(median "$work/flood" 1) | $(median "$work/flood" 2) / $(median "$work/flood" 3) | $(tail -1 "$work/flood" | cut -d' ' -f4-) |"
echo "rounds (req/s p50 p99 statuses [cpu%]):" >&2
paste -d'\n' "$work/alone" "$work/flooded" "$work/flood" | sed 's/^/  /' >&2
