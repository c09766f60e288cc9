#!/usr/bin/env bash
# scripts/fuzz.sh — runs the libFuzzer targets in fuzz/ for longer than CI does.
#   scripts/fuzz.sh [target|all] [seconds]     e.g. scripts/fuzz.sh safetensors 600
# Targets: idx cifar10 image safetensors config checkpoint (all: one after another). Configures build-sanitize/
# (scripts/sanitize.sh --configure-only) and builds only the fuzz targets there. The corpus grows in build-sanitize/fuzz/corpus/<target> (shared with
# the ctest runs), the seeds are written to build-sanitize/fuzz/seeds, and crashing inputs are saved in
# build-sanitize/fuzz/findings/<target>/. Runs at low priority (nice); extra libFuzzer flags: FUZZ_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(idx cifar10 image safetensors config checkpoint)
which=${1:-all}
seconds=${2:-60}
if [ "$which" != all ] && [[ ! " ${TARGETS[*]} " =~ " $which " ]]; then
  echo "fuzz.sh: unknown target '$which' (expected one of: ${TARGETS[*]} or all)" >&2
  exit 2
fi
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: seconds must be a positive integer, got '$seconds'" >&2
  exit 2
fi
scripts/sanitize.sh --configure-only
BUILD_DIR=${GANGLION_SANITIZE_DIR:-build-sanitize}
DIR=$BUILD_DIR/fuzz
[ "$which" = all ] && run=("${TARGETS[@]}") || run=("$which")
cmake --build "$BUILD_DIR" -j "$(nproc)" --target fuzz_make_seeds "${run[@]/#/fuzz_}"
"$DIR/fuzz_make_seeds" "$DIR/seeds"
for t in "${run[@]}"; do
  mkdir -p "$DIR/corpus/$t" "$DIR/findings/$t"
  echo "fuzz.sh: $t for $seconds s"
  nice -n 10 "$DIR/fuzz_$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$DIR/findings/$t/" ${FUZZ_FLAGS:-} "$DIR/corpus/$t" "$DIR/seeds/$t"
done
