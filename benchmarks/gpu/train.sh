#!/usr/bin/env bash
# benchmarks/gpu/train.sh — runs on a lent GPU machine (the device tool) with bench_train built on the dev machine
# and carried in .devcarry/ (plus .devcarry/COMMIT): benchmarks/train/compare.sh on CUDA for dcgan64 and wgangp64
# (then dcgan28 and wgangp28) against PyTorch eager (its default TF32 setting, and strict FP32 like ours) and
# torch.compile. Tables and a tarball of every run's log go to $OUT (or ./gpu-logs).
#
#   benchmarks/gpu/train.sh eager     # ours (native kernels) vs torch eager: default TF32 and TF32 off
#   benchmarks/gpu/train.sh cudnn     # ours with GANGLION_CONV=cudnn vs torch eager, TF32 off
#   benchmarks/gpu/train.sh compile   # ours vs torch.compile (default TF32); compiling takes minutes per model
# Each mode is sized for one 10-minute device command with MODELS="dcgan64 wgangp64"; run the 28×28 models in a
# second command (MODELS="dcgan28 wgangp28"). MODELS, ROUNDS (3), ITERS (20), WARMUP (5) and RUN_TIMEOUT (240 s
# per run) override the defaults.
set -uo pipefail
OUT=${OUT:-gpu-logs}
mkdir -p "$OUT"
BIN=.devcarry
[ -x "$BIN/bench_train" ] || { echo "train.sh: $BIN/bench_train is missing (build it and carry .devcarry)" >&2; exit 2; }
# cuDNN and cuBLAS: the toolkit's, else PyTorch's wheels (as benchmarks/gpu/verify.sh finds them).
for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia,os;print(" ".join(os.path.join(p,q,"lib") for p in nvidia.__path__ for q in os.listdir(p)))' 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH
# One inductor cache for every torch.compile run, so that rounds after the first reuse the compiled graphs.
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/ganglion-inductor-cache}

mode=${1:-eager}
case "$mode" in eager|cudnn|compile) ;; *) echo "train.sh: mode must be eager, cudnn or compile" >&2; exit 2 ;; esac
MODELS=${MODELS:-"dcgan64 wgangp64"}
ROUNDS=${ROUNDS:-3}
ITERS=${ITERS:-20}
WARMUP=${WARMUP:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-240}
{
  echo "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(cat $BIN/COMMIT 2>/dev/null)"
  echo "command: benchmarks/gpu/train.sh $* (MODELS=$MODELS ROUNDS=$ROUNDS ITERS=$ITERS WARMUP=$WARMUP)"
  echo "torch: $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version())' 2>&1)"
} | tee "$OUT/header.txt"
ldd $BIN/bench_train | grep -E "not found|cudnn|cublas|cudart" | tee -a "$OUT/header.txt"

common=(--bench "$BIN/bench_train" --device cuda --models "$MODELS" --rounds "$ROUNDS" --iters "$ITERS"
        --warmup "$WARMUP" --python python3 --timeout "$RUN_TIMEOUT")
tag=$(echo "$MODELS" | tr ' ' '-')
logs=$(mktemp -d /tmp/train-logs.XXXXXX)
case "$mode" in
  eager)
    benchmarks/train/compare.sh "${common[@]}" --logs "$logs" --variant "eager-tf32default=" \
      --variant "eager-tf32off=--tf32 off" --title "CUDA training throughput: Ganglion (native) vs PyTorch eager" \
      --out "$OUT/train-eager-$tag.md" ;;
  cudnn)
    benchmarks/train/compare.sh "${common[@]}" --logs "$logs" --ours-env GANGLION_CONV=cudnn \
      --variant "eager-tf32off=--tf32 off" --title "CUDA training throughput: Ganglion (cuDNN) vs PyTorch eager" \
      --out "$OUT/train-cudnn-$tag.md" ;;
  compile)
    benchmarks/train/compare.sh "${common[@]}" --logs "$logs" --variant "compile=--compile" \
      --title "CUDA training throughput: Ganglion (native) vs torch.compile" --out "$OUT/train-compile-$tag.md" ;;
esac
tar -czf "$OUT/train-logs-$mode-$tag.tar.gz" -C "$logs" .
echo "logs: $OUT/train-logs-$mode-$tag.tar.gz"
