#!/usr/bin/env python3
# benchmarks/train/torch_cpu_time.py — runs benchmarks/reference/torch_gan.py with its per-iteration clock
# swapped for the process CPU clock (user + system time of all threads, time.process_time), so that its
# `ms_per_iter` reports CPU milliseconds per training iteration: the figure bench_train prints as
# `cpu ms/iter`. For comparing work done on a machine shared with other jobs, where wall time is mostly waiting.
# Same flags as torch_gan.py.
import os
import runpy
import sys
import time

time.perf_counter = time.process_time  # torch_gan.py times each iteration with time.perf_counter
script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "torch_gan.py")
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
