#!/bin/sh
# Fuzzes every parser that reads outside input with libFuzzer (Fuzz/Sources/Fuzz.swift), each for
# a bounded time, starting from the committed seed corpus (Fuzz/corpus/<target>). New inputs go
# to a working corpus under $FUZZ_WORK (default /var/tmp/vpop-fuzz), crashes to
# $FUZZ_WORK/crashes/<target>/. Prints executions, corpus size and findings per target.
#   scripts/fuzz.sh [seconds per target, default 60] [target ...]
#   FUZZ_JOBS=2 runs that many targets at once (default: the number of CPUs).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-checkpassword vpasswd cdb dotqmail maildirsize config assign tcprules bulk}
work=${FUZZ_WORK:-/var/tmp/vpop-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
VPOP_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product vpop-fuzz \
  -Xswiftc -sanitize=fuzzer,address >/dev/null
bin=.build-fuzz/release/vpop-fuzz
mkdir -p "$work"
run() {
  t=$1
  mkdir -p "$work/corpus/$t" "$work/crashes/$t"
  # detect_leaks=0: the Swift runtime's metadata caches are never freed by design.
  FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/crashes/$t/" "$work/corpus/$t" "Fuzz/corpus/$t" >"$work/$t.log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  found=$(ls "$work/crashes/$t" | wc -l)
  printf '%-14s %12s executions in %ss, corpus %s inputs, findings %s\n' "$t" "${execs:-?}" "$secs" \
    "$(ls "$work/corpus/$t" | wc -l)" "$found"
}
n=0
for t in $targets; do
  run "$t" &
  n=$((n + 1))
  if [ "$n" -ge "$jobs" ]; then wait; n=0; fi
done
wait
total=$(cat "$work"/crashes/*/* 2>/dev/null | wc -c)
[ "$total" -eq 0 ] && echo "no findings" || { echo "findings in $work/crashes (reproduce: FUZZ_TARGET=<target> $bin <file>)"; exit 1; }
