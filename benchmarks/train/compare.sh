#!/usr/bin/env bash
# benchmarks/train/compare.sh — Ganglion's bench_train against the PyTorch reference (benchmarks/reference/
# torch_gan.py), run alternately for several rounds per model, medians over the rounds, printed as a markdown
# table (and written to --out with machine, date, commit and command). On the CPU it first checks that PyTorch
# really loads OpenBLAS, unsets OPENBLAS_CORETYPE and gives both sides the same thread count.
#
#   benchmarks/train/compare.sh --device cpu --models "dcgan28 wgangp28 toy" --rounds 3 --iters 5 --out FILE
#   benchmarks/train/compare.sh --device cuda --variant eager= --variant "compile=--compile" --out FILE
#
# Options:
#   --models "M ..."      models (default: dcgan28 wgangp28 toy)
#   --device cpu|cuda     (default cpu)
#   --rounds N            rounds of (ours, then each torch variant) per model (default 3)
#   --iters N, --warmup N timed and untimed iterations per run (defaults 5 and 2); --iters-MODEL=N overrides one
#   --threads N           threads for both sides on the CPU (default 2)
#   --bench PATH          the bench_train binary (default: $BENCH, else build/benchmarks/bench_train)
#   --python PATH         the Python that has torch (default: /usr/bin/python3 on cpu, python3 on cuda)
#   --variant LABEL=ARGS  a torch configuration: extra torch_gan.py flags under a label; repeatable
#                         (default: one variant "eager" with no extra flags)
#   --ours-env "K=V ..."  environment for our runs (e.g. GANGLION_CONV=cudnn), shown in the table's label
#   --timeout S           kill a run after S seconds (counted as failed; default: no limit)
#   --logs DIR            where each run's full output goes (default: a fresh temporary folder)
#   --out FILE            write the report there too
#   --title TEXT          the report's heading
#   --clock wall|cpu      what "ms/iter" measures (default wall). cpu (CPU device only): each iteration's process
#                         CPU time, user+sys over all threads (ours: bench_train --clock cpu; torch:
#                         train/torch_cpu_time.py). For a machine shared with other jobs, where wall time is
#                         mostly waiting for a core; img/s is then per CPU-second of all threads together.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
models="dcgan28 wgangp28 toy"
device=cpu
rounds=3
iters=5
warmup=2
threads=2
clock=wall
bench=${BENCH:-$repo/build/benchmarks/bench_train}
python=""
variants=()
ours_env=""
logs=""
out=""
timeout_s=0
title="Training throughput: Ganglion vs PyTorch"
declare -A model_iters=()
cmdline="benchmarks/train/compare.sh$(printf ' %q' "$@")"

die() { echo "compare.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --iters-*=*) k=${1#--iters-}; model_iters[${k%%=*}]=${k#*=}; shift ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --ours-env) ours_env=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --title) title=$2; shift 2 ;;
    --clock) clock=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ ${#variants[@]} -eq 0 ] && variants=("eager=")
[ -x "$bench" ] || die "bench_train not found at '$bench' (build it, or pass --bench / set BENCH)"
if [ -z "$python" ]; then
  if [ "$device" = cpu ] && [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else python=python3; fi
fi
torch_py="$repo/benchmarks/reference/torch_gan.py"
case "$clock" in
  wall) ;;
  cpu) [ "$device" = cpu ] || die "--clock cpu is for --device cpu only"
       torch_py="$here/torch_cpu_time.py" ;;
  *) die "--clock expects wall or cpu, got '$clock'" ;;
esac
[ -n "$logs" ] || logs=$(mktemp -d /tmp/compare-train.XXXXXX)
mkdir -p "$logs"

# ---- Environment: CPU threads and BLAS ----
notes=()
if [ "$device" = cpu ]; then
  unset OPENBLAS_CORETYPE
  export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
  alt=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
  [ -n "$alt" ] && notes+=("libblas.so.3 alternative: $alt")
  case "$alt" in *openblas*|"") ;; *) die "libblas.so.3 points to '$alt', not OpenBLAS (sudo update-alternatives --config libblas.so.3-x86_64-linux-gnu)" ;; esac
  # Which BLAS a process that imports torch really maps.
  mapped=$("$python" -c 'import torch; print(open("/proc/self/maps").read())' 2>/dev/null |
           awk '{print $6}' | grep -E 'blas|lapack|mkl' | sort -u | tr '\n' ' ')
  [ -n "$mapped" ] || die "could not import torch with $python (or it maps no BLAS library)"
  case "$mapped" in *openblas*) ;; *) die "torch does not load OpenBLAS (maps: $mapped)" ;; esac
  notes+=("torch maps: $mapped")
  machine=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  [ "$clock" = cpu ] && notes+=("clock: process CPU time per iteration (user+sys, all threads), not wall time: ms/iter are CPU ms")
  notes+=("threads: $threads for both (omp_set_num_threads / torch.set_num_threads, OMP_NUM_THREADS=$threads); OPENBLAS_CORETYPE unset")
else
  machine=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
  [ -n "$machine" ] || machine="(nvidia-smi unavailable)"
fi
torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || cat "$repo/.devcarry/COMMIT" 2>/dev/null || echo "?")
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (working tree with uncommitted changes)"
fi

# ---- Runs ----
# run_one LOG CMD...: runs CMD into LOG; prints "ms img peak" from its last lines, or "fail fail fail".
run_one() {
  local log=$1; shift
  local limit=()
  [ "$timeout_s" -gt 0 ] && limit=(timeout "$timeout_s")
  if "${limit[@]}" "$@" >"$log" 2>&1 && tail -1 "$log" | grep -q '^ms_per_iter='; then
    local ms img peak
    ms=$(tail -1 "$log" | sed 's/.*ms_per_iter=\([^ ]*\).*/\1/')
    img=$(tail -1 "$log" | sed 's/.*img_per_s=\([^ ]*\).*/\1/')
    peak=$(sed -n 's/^peak_mem_mb=\([^ ]*\).*/\1/p' "$log" | tail -1)
    echo "$ms $img ${peak:-?}"
  else
    echo "compare.sh: run failed: $* (log $log):" >&2
    tail -5 "$log" >&2
    echo "fail fail fail"
  fi
}

median() {  # median of the numeric arguments ("fail" entries ignored); "fail" when none is numeric
  printf '%s\n' "$@" | grep -E '^[0-9.eE+-]+$' | sort -g |
    awk '{a[NR]=$1} END {if (NR == 0) print "fail"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

rounds_str() {  # "1186 / 1511 / 1349": each round's ms/iter, to show the spread
  local out="" v
  for v in "$@"; do out+="${out:+ / }$(fmt "$v" 0)"; done
  echo "$out"
}

fmt() { case "$1" in fail|"?") echo "$1" ;; *) printf "%.${2}f" "$1" ;; esac; }

ours_label="ours${ours_env:+ ($ours_env)}"
rows=()
for m in $models; do
  it=${model_iters[$m]:-$iters}
  common=(--model "$m" --device "$device" --iters "$it" --warmup "$warmup" --quiet)
  [ "$device" = cpu ] && common+=(--threads "$threads")
  declare -a o_ms=() o_img=() o_peak=()
  declare -A t_ms=() t_img=() t_peak=()
  for r in $(seq 1 "$rounds"); do
    read -r a b c < <(run_one "$logs/$m.ours.r$r.log" env $ours_env "$bench" "${common[@]}" --clock "$clock")
    o_ms+=("$a"); o_img+=("$b"); o_peak+=("$c")
    echo "[$m round $r] $ours_label: $a ms/iter" >&2
    for v in "${variants[@]}"; do
      label=${v%%=*}; args=${v#*=}
      # shellcheck disable=SC2086
      read -r a b c < <(run_one "$logs/$m.torch-$label.r$r.log" "$python" "$torch_py" "${common[@]}" $args)
      t_ms[$label]+="$a "; t_img[$label]+="$b "; t_peak[$label]+="$c "
      echo "[$m round $r] torch $label: $a ms/iter" >&2
    done
  done
  om=$(median "${o_ms[@]}"); oi=$(median "${o_img[@]}"); op=$(median "${o_peak[@]}")
  for v in "${variants[@]}"; do
    label=${v%%=*}
    # shellcheck disable=SC2086
    tm=$(median ${t_ms[$label]}); ti=$(median ${t_img[$label]}); tp=$(median ${t_peak[$label]})
    ratio=fail
    [ "$om" != fail ] && [ "$tm" != fail ] && ratio=$(awk -v t="$tm" -v o="$om" 'BEGIN {printf "%.2f", t/o}')
    rows+=("| $m | $device | $label | $(fmt "$om" 1) | $(fmt "$tm" 1) | $ratio | $(fmt "$oi" 1) | $(fmt "$ti" 1) | $(fmt "$op" 0) | $(fmt "$tp" 0) | $(rounds_str "${o_ms[@]}") | $(rounds_str ${t_ms[$label]}) |")
  done
  unset o_ms o_img o_peak t_ms t_img t_peak
done

# ---- Report ----
report() {
  echo "# $title"
  echo
  echo "- machine: $machine"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- commit: $commit"
  echo "- command: \`$cmdline\`"
  echo "- ours: \`$(basename "$bench")\`${ours_env:+ with $ours_env}; torch $torch_version via $python"
  local over=""
  for k in "${!model_iters[@]}"; do over+="$k ${model_iters[$k]}; "; done
  echo "- per run: $warmup warm-up + $iters timed iterations (per-model overrides: ${over:-none}); $rounds rounds, ours and torch alternating; each cell is the median over rounds of each run's median"
  for n in "${notes[@]}"; do echo "- $n"; done
  echo "- logs: $logs"
  echo
  echo "| model | device | torch variant | ours ms/iter | torch ms/iter | torch/ours (>1: ours faster) | ours img/s | torch img/s | ours peak MB | torch peak MB | ours rounds ms | torch rounds ms |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  if [ "$device" = cpu ]; then
    echo "Peak MB on the CPU is the process's peak RSS (the PyTorch process includes the interpreter and libtorch)."
  else
    echo "Peak MB on CUDA is the allocator's peak of bytes in use over the timed iterations (ours: the caching allocator; torch: max_memory_allocated)."
  fi
}
if [ -n "$out" ]; then
  mkdir -p "$(dirname "$out")"
  report | tee "$out"
else
  report
fi
