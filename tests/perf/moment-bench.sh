#!/usr/bin/env bash
# Financial moments end to end through the real hub (issue 14): moment accepted (202) → signed
# `offer-available` SET at the partner's loopback webhook. Run on demand:
#   bash tests/perf/moment-bench.sh [flags of moment_bench]
# e.g. `--customers 300 --secs 10 --rates 1000,1500,2000,2500 --backlog 100000`.
# The release hub runs in a temporary directory with a config file (tokens for an hour, the
# partner publication limit lifted, contact policies relaxed so that offers are not capped:
# max_presentations 3650 per 1 day, daily_max_per_channel 3650; log level warn). The bench
# (tests/e2e/examples/moment_bench.rs) onboards a travel partner (data_recipient data_provider
# offer_partner), a keep-alive loopback webhook subscribed to offer-available, N customers
# (CLI) who each consent to the partner (ReadAccountsBasic + ReadOffers, real pages) and to the
# bank naming it (dashboard), 1,000 propositions co-branded by the partner on channel `moment`,
# 200 trigger rules on travel_booked (rule k: destination == "D<k>", 5 propositions each).
# Each round publishes moments open-loop at the target rate for S seconds (random customer and
# destination) and measures SET arrival − 202 arrival per moment; the rates go up until one
# is not sustained (p99 ≥ 50 ms, a refusal, a missing SET, or under 97 % of the rate
# accepted). Then the catch-up: a restart with offers.trigger_moments = false, a backlog
# published, a restart with it true, and the time until the last moment (and a 1 % sample)
# is final and until every SET arrived.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ecohub-e2e --example moment_bench
ECOHUB_BIN="$target/release/ecohub" "$target/release/examples/moment_bench" "$@"
