#!/usr/bin/env bash
# scripts/install_packages.sh — installs the Debian packages named that are not installed yet (apt-get; sudo when
# not root). Shared by scripts/setup.sh and scripts/sanitize.sh.
#   scripts/install_packages.sh LABEL PACKAGE...      (LABEL starts the "installing" line)
set -euo pipefail
label=$1
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "$label: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
