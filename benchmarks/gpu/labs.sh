#!/usr/bin/env bash
# benchmarks/gpu/labs.sh — runs on a lent GPU machine (the device tool) over the kernel-lab binaries built on the
# dev machine (a CUDA build) and carried in .devcarry/labs/ (plus .devcarry/COMMIT): the conv, bn, adam and penalty
# labs in turn, each under its own time limit. Every lab's markdown table file and full output go to
# $OUT/<device>-labs-<date>/ (OUT defaults to benchmarks/results), with header.txt (device, date, commit, command).
#
# On the dev machine, before the device call:
#   cmake -S . -B build-cuda -DGANGLION_CUDA=ON && nice make -C build-cuda -j2 conv_lab bn_lab adam_lab penalty_lab
#   mkdir -p .devcarry/labs && cp build-cuda/benchmarks/kernels/{conv,bn,adam,penalty}_lab .devcarry/labs/
#   git rev-parse --short HEAD > .devcarry/COMMIT
# Then, on the device, with .devcarry carried:
#   benchmarks/gpu/labs.sh                 # all four labs (sized for one 10-minute device command)
#   benchmarks/gpu/labs.sh conv bn         # only these
# LAB_ARGS="--reps 10" adds flags to every lab; LAB_TIMEOUT (seconds, default 270 for conv, 90 for the others).
set -uo pipefail
BIN=.devcarry/labs
labs=("$@")
[ ${#labs[@]} -eq 0 ] && labs=(conv bn adam penalty)
for lab in "${labs[@]}"; do
  case "$lab" in conv|bn|adam|penalty) ;; *) echo "labs.sh: unknown lab '$lab' (expected conv, bn, adam, penalty)" >&2; exit 2 ;; esac
  [ -x "$BIN/${lab}_lab" ] || { echo "labs.sh: $BIN/${lab}_lab is missing (build it and carry .devcarry)" >&2; exit 2; }
done
# cuDNN and cuBLAS: the toolkit's, else PyTorch's wheels (as benchmarks/gpu/verify.sh finds them).
for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia,os;print(" ".join(os.path.join(p,q,"lib") for p in nvidia.__path__ for q in os.listdir(p)))' 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH
export GANGLION_COMMIT=$(cat .devcarry/COMMIT 2>/dev/null || echo unknown)

name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
slug=$(echo "$name" | grep -oiE '[A-Z][0-9]{2,4}[A-Z]?' | head -1 | tr 'A-Z' 'a-z')
[ -n "$slug" ] || slug=$(echo "${name:-unknown-gpu}" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
dir="${OUT:-benchmarks/results}/${slug}-labs-$(date -u +%Y-%m-%d)"
mkdir -p "$dir"
{
  echo "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>&1)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $GANGLION_COMMIT"
  echo "command: benchmarks/gpu/labs.sh $* (LAB_ARGS=${LAB_ARGS:-})"
  echo "nvidia-smi before: $(nvidia-smi --query-gpu=temperature.gpu,power.draw,clocks.sm,utilization.gpu --format=csv,noheader 2>&1)"
} | tee "$dir/header.txt"
ldd "$BIN/conv_lab" | grep -E "not found|cudnn|cublas|cudart" | tee -a "$dir/header.txt"

status=0
for lab in "${labs[@]}"; do
  limit=${LAB_TIMEOUT:-$([ "$lab" = conv ] && echo 270 || echo 90)}
  echo "== $lab lab (limit ${limit}s)"
  # shellcheck disable=SC2086
  timeout "$limit" "$BIN/${lab}_lab" --out-dir "$dir" ${LAB_ARGS:-} > "$dir/$lab.log" 2>&1
  rc=$?
  echo "exit $rc" >> "$dir/$lab.log"
  tail -n 25 "$dir/$lab.log"
  [ $rc -eq 0 ] || { echo "labs.sh: $lab lab exited $rc (see $dir/$lab.log)"; status=1; }
done
echo "results: $dir"
exit $status
