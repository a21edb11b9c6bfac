#!/usr/bin/env bash
# Builds the connector, starts the fake vendor on a free loopback port and
# runs Seatwarden's conformance suite against it. Needs the `seatwarden`
# binary on PATH (or in $SEATWARDEN) and python3 (standard library only).
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --release
WASM="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/wasm32-wasip2/release/{{crate_name}}.wasm"
export VENDOR_TOKEN="fake-vendor-token"
PORT_FILE="$(mktemp)"
python3 fake/vendor.py --token "$VENDOR_TOKEN" --port-file "$PORT_FILE" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -f "$PORT_FILE" conformance.local.toml' EXIT
for _ in $(seq 100); do [ -s "$PORT_FILE" ] && break; sleep 0.05; done
sed "s|http://127.0.0.1:18080|http://127.0.0.1:$(cat "$PORT_FILE")|" conformance.toml > conformance.local.toml
"${SEATWARDEN:-seatwarden}" connector test "$WASM" --settings conformance.local.toml "$@"
