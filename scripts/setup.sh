#!/usr/bin/env bash
# scripts/setup.sh — installs the Debian packages Ganglion builds with (only those missing), then configures and
# builds into ./build. CUDA sources are compiled when nvcc is found (/usr/local/cuda/bin/nvcc or on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake make g++ catch2 libeigen3-dev libstb-dev zlib1g-dev nlohmann-json3-dev libcli11-dev)
scripts/install_packages.sh setup "${PKGS[@]}"

if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
BUILD_DIR=${GANGLION_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${GANGLION_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
