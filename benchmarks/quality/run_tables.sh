#!/usr/bin/env bash
# benchmarks/quality/run_tables.sh — reproduces PacGAN's Table 1 (2-D mixtures ring8 / grid25) and Table 2 (stacked
# MNIST) with `ganglion train` and `ganglion eval`, and writes benchmarks/results/quality.md with the paper's
# numbers and ours side by side (mean ± standard error over training seeds, seed count and step budget per row).
#
#   benchmarks/quality/run_tables.sh [train|eval|table|all] [ROW...]     (default: all rows, all phases)
#
# Each (row, seed) trains into $WORK/<row>-s<seed> unless that run already reached its step budget, so the
# script can be stopped and run again; `eval` writes eval.json next to each run (once; REEVAL=1 redoes it);
# `table` only rewrites the file. Training time per run is read from the run's metrics.jsonl.
# Environment: GANGLION (the tool, default build/tools/ganglion), WORK (run folders, default
# /tmp/ganglion-quality), MNIST (folder with train-* and t10k-* IDX files, default /work/shared/data/mnist),
# CLASSIFIER (the MNIST classifier file; trained there on first use), OUT (default
# benchmarks/results/quality.md), NICE (default 5), THREADS (CPU threads per run, default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
GANGLION=${GANGLION:-build/tools/ganglion}
WORK=${WORK:-/tmp/ganglion-quality}
MNIST=${MNIST:-/work/shared/data/mnist}
CLASSIFIER=${CLASSIFIER:-$WORK/mnist_classifier.safetensors}
OUT=${OUT:-benchmarks/results/quality.md}
NICE=${NICE:-5}
THREADS=${THREADS:-1}
PHASE=${1:-all}
shift || true

# PacGAN's 2-D models and optimiser (Lin et al. 2018, appendix): G 4 x (Linear 400, BatchNorm, ReLU), D 3 x
# (Linear -> 200 x 5, Maxout 5), Adam 1e-4 with beta1 0.8, 100 packed inputs per batch (100 m samples).
# (One line: each row below must stay one line for `read`.)
PAC2D="--g-hidden 400 --g-layers 4 --d-hidden 200 --d-pieces 5 --loss nonsaturating --penalty none --n-critic 1"
PAC2D="$PAC2D --lr 1e-4 --beta1 0.8 --beta2 0.999 --lr-schedule constant"
# Rows: name | table | seeds | steps | train flags, in the order they run (most important first, so that a
# budget cut loses the least). Step budgets are what fitted the shared 2-core CPU in one sitting (quality.md).
ROWS=(
  "grid25-ganglion|grid25|2|4000|--preset toy-grid25"
  "grid25-ganglion-r1|grid25|2|4000|--preset toy-grid25 --penalty r1 --gamma 1"
  "grid25-ganglion-r1-12k|grid25|4|12000|--preset toy-grid25-r1"
  "stacked-dcgan|stacked|1|3000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST"
  "stacked-dcgan-6k|stacked|1|6000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST"
  "stacked-dcgan-20k|stacked|1|20000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST"
  "stacked-pacdcgan2|stacked|1|20000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --pack 2 --batch 128"
  "stacked-dcgan64|stacked|1|12000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --ngf 64 --ndf 64"
  "stacked-dcgan64-20k|stacked|2|20000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --ngf 64 --ndf 64"
  "stacked-dcgan64-40k|stacked|1|40000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --ngf 64 --ndf 64"
  "stacked-dcgan64-60k|stacked|1|60000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --ngf 64 --ndf 64"
  "stacked-dcgan64-r1|stacked|2|20000|--preset dcgan-stacked-mnist --data-path $MNIST"
  "stacked-dcgan64-ema|stacked|1|24000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --ngf 64 --ndf 64 --ema 0.999"
  "stacked-dcgan-128k|stacked|1|12000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --stacked-images 128000"
  "stacked-dcgan-decay-ema|stacked|1|16000|--preset dcgan-mnist --data stacked_mnist --channels 3 --data-path $MNIST --lr-schedule linear --ema 0.999"
  "grid25-ganglion-noise8|grid25|2|4000|--preset toy-grid25 --config benchmarks/quality/noise8.json"
  "grid25-gan|grid25|2|1000|--data grid25 $PAC2D --batch 100 --pack 1"
  "grid25-pacgan4|grid25|2|1000|--data grid25 $PAC2D --batch 400 --pack 4"
  "ring8-gan|ring8|2|1000|--data ring8 $PAC2D --batch 100 --pack 1"
  "ring8-pacgan2|ring8|2|1000|--data ring8 $PAC2D --batch 200 --pack 2"
  "mnist-dcgan|mnist|1|2000|--preset dcgan-mnist --data-path $MNIST"
  "mnist-dcgan-6k|mnist|1|6000|--preset dcgan-mnist --data-path $MNIST"
  "grid25-pacgan2|grid25|2|1000|--data grid25 $PAC2D --batch 200 --pack 2"
  "ring8-pacgan4|ring8|2|1000|--data ring8 $PAC2D --batch 400 --pack 4"
  "ring8-ganglion|ring8|2|2000|--preset toy-ring8-gan"
  "grid25-wgangp|grid25|2|300|--preset toy-grid25-wgangp --batch 100"
  "ring8-wgangp|ring8|2|300|--preset toy-grid25-wgangp --data ring8 --batch 100"
  "stacked-wgangp|stacked|1|4000|--preset wgangp-mnist --data stacked_mnist --channels 3 --data-path $MNIST"
  "grid25-pacgan3|grid25|2|1000|--data grid25 $PAC2D --batch 300 --pack 3"
  "ring8-pacgan3|ring8|2|1000|--data ring8 $PAC2D --batch 300 --pack 3"
)

selected() {  # a row runs when no names were given or its name was
  [ $# -eq 0 ] && return 0
  local r
  for r in "${SELECT[@]}"; do [ "$r" = "$1" ] && return 0; done
  return 1
}
SELECT=("$@")

mkdir -p "$WORK"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name table seeds steps flags <<<"$row"
  if [ ${#SELECT[@]} -gt 0 ] && ! selected "$name"; then continue; fi
  for ((s = 0; s < seeds; s++)); do
    dir="$WORK/$name-s$s"
    if [[ $PHASE == train || $PHASE == all ]]; then
      if [ ! -f "$dir/checkpoints/step_$(printf %08d "$steps").safetensors" ]; then
        rm -rf "$dir"
        echo "== train $name seed $s ($steps steps)"
        # shellcheck disable=SC2086
        nice -n "$NICE" "$GANGLION" train $flags --seed "$s" --steps "$steps" --device cpu --threads "$THREADS" \
          --log-every 500 --sample-every 1000 --checkpoint-every "$steps" --run-dir "$dir" -q >"$WORK/$name-s$s.log"
        echo "   $(tail -1 "$WORK/$name-s$s.log")"
      fi
    fi
    if [[ $PHASE == eval || $PHASE == all ]] && [ -d "$dir" ] && { [ ! -s "$dir/eval.json" ] || [ -n "${REEVAL:-}" ]; }; then
      echo "== eval $name seed $s"
      start=$(date +%s.%N)
      # One noise seed per trained model: the spread reported is across training seeds, as in the papers.
      nice -n "$NICE" "$GANGLION" eval "$dir" --seeds 1 --device cpu --threads "$THREADS" --classifier "$CLASSIFIER" \
        --data-path "$MNIST" --json >"$dir/eval.json" 2>"$dir/eval.log"
      echo "$(date +%s.%N) $start" | awk '{printf "%.1f\n", $1 - $2}' >"$dir/eval_seconds"
    fi
  done
done

[[ $PHASE == train ]] && exit 0
python3 benchmarks/quality/write_table.py --work "$WORK" --out "$OUT" --rows "$(printf '%s\n' "${ROWS[@]}")"
echo "wrote $OUT"
