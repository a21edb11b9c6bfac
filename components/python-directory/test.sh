#!/usr/bin/env bash
# Why this file exists: it runs the connector's native unit tests
# (tests/test_native.py) on the build machine's CPython, against binding
# stubs that componentize-py writes from the contract. No wasm runtime and
# no network are needed once build.sh has created the venv.
#
# Usage: test.sh [VENV_DIR] [WIT_DIR]   (same defaults as build.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV_DIR="${1:-${VENV:-$HERE/.venv}}"
WIT_DIR="${2:-${WIT:-$HERE/../../wit}}"
# Relative paths are the caller's: anchor them before changing folders.
case "$VENV_DIR" in /*) ;; *) VENV_DIR="$PWD/$VENV_DIR" ;; esac
case "$WIT_DIR" in /*) ;; *) WIT_DIR="$PWD/$WIT_DIR" ;; esac
STUBS="$(mktemp -d)"
trap 'rm -rf "$STUBS"' EXIT
"$VENV_DIR/bin/componentize-py" -q -d "$WIT_DIR" -w connector bindings "$STUBS"
cd "$HERE"
STUBS="$STUBS" PYTHONDONTWRITEBYTECODE=1 "$VENV_DIR/bin/python" -m unittest discover -s tests -v
