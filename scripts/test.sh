#!/usr/bin/env bash
# Install what is missing, build kvnode with ASan + UBSan, and run the whole
# test suite (unit, integration, cluster, differential, bounded fuzzing);
# then the storage tests (WAL, engine, snapshots: the loop, the WAL thread,
# the thread pool and reader threads) again under ThreadSanitizer, where any
# report fails the run.
# Usage: bash scripts/test.sh [ctest args…]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build/asan -DKV_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/asan -j"$jobs"

# ThreadSanitizer: only the storage tests and what they link (node/store and
# below), in their own build directory.
cmake -S . -B build/tsan -DKV_TSAN=ON -DKV_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/tsan -j"$jobs" --target store_tests

# Fuzz harnesses need clang's libFuzzer; they run for a bounded time each.
if [ -f tests/fuzz/CMakeLists.txt ]; then
cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DKV_FUZZ=ON -DKV_TESTS=OFF -DKV_BENCH=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/fuzz -j"$jobs"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
status=0
ctest --test-dir build/asan --output-on-failure -j"$jobs" "$@" || status=$?
ctest --test-dir build/tsan --output-on-failure -L store -j"$jobs" "$@" || status=$?
if [ -d build/fuzz ]; then
  ctest --test-dir build/fuzz --output-on-failure -L fuzz -j"$jobs" "$@" || status=$?
fi
exit $status
