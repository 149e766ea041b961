#!/usr/bin/env bash
# Runs every store at N = 10M transfers over M = 10,000 and M = 1,000,000 accounts, one process per
# run, niced because other engineers share the 2 cores. Raw output goes to results/<UTC date>.log;
# the `ROW |` lines are the table rows in docs/decisions.md.
#   usage: [TRANSFERS=N] [EXTRA_ARGS="--ingest-seconds-max 600"] ./run.sh [store ...]
#          (default stores: memory fjall fjall-bulk redb. Not sled at 10M: it needs ~6 GiB RSS per
#          1M transfers and was OOM-killed; use ./run-guarded.sh sled ACCOUNTS 500000)
set -euo pipefail
cd "$(dirname "$0")"
nice -n 10 cargo build --release -j 2
mkdir -p results
log="results/$(date -u +%Y-%m-%dT%H%M%SZ).log"
transfers="${TRANSFERS:-10000000}"
stores=("$@")
[ ${#stores[@]} -eq 0 ] && stores=(memory fjall fjall-bulk redb)
{
  echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cores; transfers=$transfers"
  for accounts in 10000 1000000; do
    for store in "${stores[@]}"; do
      echo "## store=$store transfers=$transfers accounts=$accounts"
      nice -n 10 ./target/release/index-stores --store "$store" --transfers "$transfers" --accounts "$accounts" ${EXTRA_ARGS:-} \
        || echo "FAILED store=$store accounts=$accounts exit=$?"
    done
  done
} 2>&1 | tee "$log"
