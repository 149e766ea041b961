#!/usr/bin/env bash
# Runs one store with its RSS logged every 5 s, and kills it (by its pid) above RSS_MAX_KIB
# (default 6 GiB), so a store that balloons (sled: ~6 GiB per 1M transfers) cannot OOM the shared machine.
#   usage: [RSS_MAX_KIB=6291456] ./run-guarded.sh STORE ACCOUNTS TRANSFERS
set -uo pipefail
cd "$(dirname "$0")"
store=$1; accounts=$2; transfers=$3; rss_max_kib=${RSS_MAX_KIB:-6291456}
nice -n 10 ./target/release/index-stores --store "$store" --transfers "$transfers" --accounts "$accounts" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null)
  echo "  rss_kib=$rss t=$(date +%T)" >&2
  if [ -n "$rss" ] && [ "$rss" -gt "$rss_max_kib" ]; then
    echo "GUARD: killing $store at rss_kib=$rss" >&2
    kill "$pid"
  fi
  sleep 5
done
wait "$pid"
echo "exit=$?"
