#!/bin/sh
# The build stage of every services/*/Dockerfile (run as root in a node:20 Debian image, context = repo root).
#   sh tools/helm/image-build.sh bundle <service>   install, bundle the service into /out/dist, keep runtime deps only
#   sh tools/helm/image-build.sh cuda12             add onnxruntime-node's CUDA 12 + TensorRT providers, checked
set -eu

case "${1:-}" in
  bundle)
    service=${2:?usage: image-build.sh bundle <service>}
    # Toolchain only for native modules whose prebuilt binary cannot be fetched (better-sqlite3 falls back to node-gyp).
    apt-get update
    apt-get install -y --no-install-recommends python3 make g++
    rm -rf /var/lib/apt/lists/*
    npm ci --no-audit --no-fund                       # dev dependencies too: esbuild
    node tools/helm/bundle-service.mjs "$service" --outdir /out/dist
    npm ci --omit=dev --no-audit --no-fund            # what the image ships
    # Workspace links point at sources the image does not have (they are bundled); other platforms' binaries.
    rm -rf node_modules/@vanelia \
      node_modules/onnxruntime-node/bin/napi-v6/win32 node_modules/onnxruntime-node/bin/napi-v6/darwin
    ;;
  cuda12)
    # .npmrc skips onnxruntime-node's download step for CPU images; here it runs on purpose.
    ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
    for lib in cuda shared tensorrt; do
      file=node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_$lib.so
      [ -s "$file" ] || { echo "image-build: $file was not installed" >&2; exit 1; }
    done
    ;;
  *)
    echo "usage: image-build.sh bundle <service> | cuda12" >&2
    exit 2
    ;;
esac
