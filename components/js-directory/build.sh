#!/usr/bin/env bash
# Why this file exists: builds connector.js into a Seatwarden connector component
# (out.wasm) with a pinned toolchain: installs the exact versions from
# package-lock.json into a dependency folder, then runs `jco componentize`
# against the host's WIT. The output is NOT byte-reproducible (the Wizer heap
# snapshot differs per run), so pin the sha256 of the file you ship.
#
# Usage: ./build.sh [DEPS_DIR]        (default: ./.deps)
#   WIT=<wit dir>   the contract (default: the repository's wit/)
#   OUT=<file>      the component (default: ./out.wasm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
deps=$(mkdir -p "${1:-$here/.deps}" && cd "${1:-$here/.deps}" && pwd)
wit=${WIT:-$here/../../wit}
out=${OUT:-$here/out.wasm}

# The manifest and the lock go side by side into the deps folder. `npm ci` is
# tried first; it refuses this lock where the registry in use lacks other
# platforms' optional binaries (rolldown, jco-node-fs, componentize-qjs builds:
# npm then leaves them out of the lock), so `npm install` (which still follows
# the lock's versions) is the fallback.
cp "$here/package.json" "$here/package-lock.json" "$deps/"
(cd "$deps" && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
  || npm install --no-audit --no-fund --loglevel=error; })

# No --disable: the host links every wasi p2 interface the engine imports
# (cli stdio/terminal, clocks, random, filesystem: the latter with no preopens),
# `http` is what fetch() uses, and stdio carries the guest's trap messages.
"$deps/node_modules/.bin/jco" componentize "$here/connector.js" \
  --wit "$wit" --world-name connector -o "$out"
ls -l "$out"
sha256sum "$out"
