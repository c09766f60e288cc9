#!/usr/bin/env bash
# scripts/sanitize.sh — the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (any UB stops
# the program), CPU-only, built with clang into build-sanitize/ together with the fuzz targets; ctest there runs
# every test and a short run of each fuzz target (label "fuzz"). Installs clang, its sanitizer/libFuzzer runtime
# and OpenMP runtime when missing, as scripts/setup.sh does for the normal build.
#   scripts/sanitize.sh               configure, build, run ctest
#   scripts/sanitize.sh --configure-only  install and configure (scripts/fuzz.sh uses this)
# Environment: GANGLION_SANITIZE_DIR (default build-sanitize), GANGLION_FUZZ_SECONDS (per target in ctest, 5).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake make clang libclang-rt-14-dev libomp-14-dev catch2 libeigen3-dev libstb-dev zlib1g-dev
      nlohmann-json3-dev libcli11-dev)
scripts/install_packages.sh sanitize "${PKGS[@]}"

BUILD_DIR=${GANGLION_SANITIZE_DIR:-build-sanitize}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGANGLION_CUDA=OFF \
  -DGANGLION_FUZZ=ON -DGANGLION_FUZZ_SECONDS="${GANGLION_FUZZ_SECONDS:-5}" >/dev/null
[ "${1:-}" = "--configure-only" ] && exit 0
cmake --build "$BUILD_DIR" -j "$(nproc)"

# allocator_may_return_null: an allocation ASan cannot meet returns null as malloc would, so the host
# out-of-memory test checks our error path instead of ASan aborting.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
start=$(date +%s)
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 900
echo "sanitize: ctest took $(( $(date +%s) - start )) s"
