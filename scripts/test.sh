#!/usr/bin/env bash
# scripts/test.sh — the whole test suite: installs what is missing, builds, and runs every test through CTest.
# CUDA tests ([cuda]) run when a GPU is usable and report that they were skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir "${GANGLION_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 600
