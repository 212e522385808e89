#!/usr/bin/env bash
# Runs every flightrec test: unit and integration tests on the normal build,
# the same suites on the ASan+UBSan build, the unit tests under valgrind, the
# bounded fuzz run, and the benchmarks' quick modes. Prints one closing line
# "N passed, N failed".
#
# Usage: scripts/run-tests.sh        (as root: the integration tests load eBPF)
# Environment: FLIGHTREC_FUZZ_SECONDS (default 60) bounds the fuzz run.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "run-tests: the integration tests load eBPF programs and mount filesystems: run as root" >&2
	exit 2
fi

# the single source of what the project needs; quick when all is installed
bash scripts/install-deps.sh || exit 2

logs=build/test-logs
mkdir -p "$logs"
rm -f "$logs"/*.log
status=0

step() { printf '\n=== %s\n' "$*"; }

run_prove() { # name build-dir prove-args...
	local name=$1 dir=$2
	shift 2
	FLIGHTREC_BUILD=$(pwd)/$dir prove -v "$@" 2>&1 | tee "$logs/$name.log"
	[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
}

step "build (normal)"
make -j"$(nproc)" all || exit 1
step "unit tests"
run_prove unit build build/tests/test_*
step "integration tests"
# a hung test fails after 15 minutes instead of eating CI's whole budget
run_prove integration build --exec "timeout -k 10 900 /usr/bin/python3" tests/integration/*.t

step "build (ASan + UBSan)"
make -j"$(nproc)" SAN=1 all || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "unit tests (ASan + UBSan)"
run_prove unit-asan build-asan build-asan/tests/test_*
step "integration tests (ASan + UBSan)"
run_prove integration-asan build-asan --exec "timeout -k 10 900 /usr/bin/python3" tests/integration/*.t
unset ASAN_OPTIONS UBSAN_OPTIONS

step "unit tests under valgrind (leaks are errors)"
for t in build/tests/test_*; do
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$t" \
		> "$logs/valgrind-$(basename "$t").txt" 2>&1
	rc=$?
	if [[ $rc -eq 99 ]]; then
		echo "not ok - valgrind: $(basename "$t") has memory errors or leaks"
		tail -n 30 "$logs/valgrind-$(basename "$t").txt"
		status=1
	else
		echo "ok - valgrind: $(basename "$t") clean"
	fi
done | tee "$logs/valgrind.log"
grep -q '^not ok' "$logs/valgrind.log" && status=1

if [[ -x scripts/fuzz.sh ]]; then
	step "fuzzing (bounded)"
	if scripts/fuzz.sh "${FLIGHTREC_FUZZ_SECONDS:-60}" > "$logs/fuzz-run.txt" 2>&1; then
		echo "ok - fuzz: no crash in ${FLIGHTREC_FUZZ_SECONDS:-60}s" | tee "$logs/fuzz.log"
	else
		tail -n 40 "$logs/fuzz-run.txt"
		echo "not ok - fuzz: the fuzzer found a crash (see $logs/fuzz-run.txt)" | tee "$logs/fuzz.log"
		status=1
	fi
fi

# The benchmarks' quick modes, to keep them working (their numbers are not
# checked here: they live in docs/BENCHMARKS.md).
step "benchmarks (--quick)"
for b in overhead corpus steady query_bench; do
	if bench/$b --quick > "$logs/bench-$b.txt" 2>&1; then
		echo "ok - bench/$b --quick runs end to end" | tee "$logs/bench-$b.log"
	else
		tail -n 30 "$logs/bench-$b.txt"
		echo "not ok - bench/$b --quick failed (see $logs/bench-$b.txt)" | tee "$logs/bench-$b.log"
		status=1
	fi
done

# TAP result lines only (prove -v also prints a bare "ok" per file)
passed=$(cat "$logs"/*.log | grep -cE '^ok ([0-9]+ )?- ')
failed=$(cat "$logs"/*.log | grep -cE '^not ok ([0-9]+ )?- ')
echo
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 && $status -eq 0 ]]
