#!/usr/bin/env bash
# fuzz.sh SECONDS - build and run the flight log fuzzer for a bounded time.
#
# Runs build-fuzz/fuzz_segment on a scratch copy of fuzz/corpus/segment (so
# the checked-in corpus only grows by hand). A crash input is copied into
# fuzz/corpus/segment/ as crash-<sha1>, where the unit test
# test_flightlog_corpus replays it from then on; the script then fails.
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
make -s fuzz
work=build-fuzz/corpus-work
mkdir -p "$work" build-fuzz/artifacts
status=0
build-fuzz/fuzz_segment -max_total_time="$secs" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix=build-fuzz/artifacts/ "$work" fuzz/corpus/segment || status=$?
for f in build-fuzz/artifacts/crash-* build-fuzz/artifacts/leak-* build-fuzz/artifacts/timeout-* build-fuzz/artifacts/oom-*; do
	[[ -e $f ]] || continue
	cp "$f" fuzz/corpus/segment/
	echo "fuzz.sh: kept $(basename "$f") in fuzz/corpus/segment/ as a regression input" >&2
	status=1
done
exit $status
