#!/usr/bin/env bash
# scripts/train.sh — the main job: installs what is missing, builds, and runs `ganglion train` (by default the
# built-in WGAN-GP on the 25-Gaussian grid) with any arguments passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${GANGLION_BUILD_DIR:-build}/tools/ganglion" train "$@"
