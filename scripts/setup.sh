#!/usr/bin/env bash
# Installs what Vanelia needs on a fresh Debian machine: apt packages when missing, then npm ci.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ffmpeg: decode/encode; Mesa (EGL + llvmpipe, lavapipe Vulkan): the renderer on CPU machines;
# prometheus/promtool: metrics and alert-rule tests; redis: the shared job store tests; openssl: mTLS test certificates.
APT_PACKAGES=(ffmpeg libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri mesa-vulkan-drivers libvulkan1 prometheus redis-server openssl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when node_modules does not match the lockfile.
stamp=node_modules/.vanelia-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
