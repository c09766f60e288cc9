#!/usr/bin/env bash
# benchmarks/gpu/verify.sh — runs on a lent GPU machine (the device tool) over binaries built on the dev machine
# and carried in .devcarry/: the [cuda] tests, the whole suite, and compute-sanitizer memcheck and racecheck over
# the [cuda] tests (mode: all | cuda | suite | memcheck | racecheck). Logs go to $OUT (or ./gpu-logs) with device, date and commit.
set -uo pipefail
OUT=${OUT:-gpu-logs}
mkdir -p "$OUT"
BIN=.devcarry
# The test binary looks for its golden data where it was built.
mkdir -p /work && [ -e /work/main ] || ln -s "$PWD" /work/main
# cuDNN and cuBLAS: the toolkit's, else PyTorch's wheels.
for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia,os;print(" ".join(os.path.join(p,q,"lib") for p in nvidia.__path__ for q in os.listdir(p)))' 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH
{
  echo "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(cat $BIN/COMMIT 2>/dev/null)"
  echo "command: benchmarks/gpu/verify.sh $*"
} | tee "$OUT/header.txt"
ldd $BIN/ganglion_tests | grep -E "not found|cudnn|cublas|cudart" | tee -a "$OUT/header.txt"
mode=${1:-all}
if [ "$mode" = all ] || [ "$mode" = cuda ]; then
  echo "== [cuda] tests"; (cat "$OUT/header.txt"; $BIN/ganglion_tests "[cuda]" -d yes 2>&1) | tee "$OUT/cuda_tests.log" | tail -40
fi
if [ "$mode" = all ] || [ "$mode" = suite ]; then
  echo "== whole suite"; (cat "$OUT/header.txt"; $BIN/ganglion_tests 2>&1) | tee "$OUT/full_suite.log" | tail -15
fi
if [ "$mode" = all ] || [ "$mode" = memcheck ]; then
  echo "== memcheck"; (cat "$OUT/header.txt"; compute-sanitizer --tool memcheck --leak-check full $BIN/ganglion_tests "[cuda]~[oom]" 2>&1) | tee "$OUT/memcheck.log" | tail -15
fi
if [ "$mode" = all ] || [ "$mode" = racecheck ]; then
  echo "== racecheck"; (cat "$OUT/header.txt"; compute-sanitizer --tool racecheck --racecheck-report all $BIN/ganglion_tests "[cuda]~[oom]" 2>&1) | tee "$OUT/racecheck.log" | tail -15
fi
