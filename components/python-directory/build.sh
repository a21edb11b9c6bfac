#!/usr/bin/env bash
# Why this file exists: it turns the Python connector in this folder into a
# Seatwarden connector component (a .wasm file) with componentize-py, the
# same way on every machine, so nobody has to remember the flags.
#
# Usage: build.sh [VENV_DIR] [OUT_WASM] [WIT_DIR]
#   VENV_DIR  where the build venv lives   (or $VENV;  default ./.venv here)
#   OUT_WASM  the component to write       (or $OUT;   default ./directory-python.wasm)
#   WIT_DIR   the contract's wit folder    (or $WIT;   default ../../wit, i.e. the
#             repository's wit/ with deps/ holding the WASI 0.2.12 packages)
#
# Network: only the first run needs it, for `pip install componentize-py`
# (one 17 MB wheel from PyPI, no dependencies). After that the build is fully
# offline: componentize-py bundles CPython, the standard library and wasi-libc
# in that wheel, and bindings are generated on the fly from WIT_DIR.
# Set OFFLINE=1 to fail instead of reaching for PyPI when the venv is missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV_DIR="${1:-${VENV:-$HERE/.venv}}"
OUT_WASM="${2:-${OUT:-$HERE/directory-python.wasm}}"
WIT_DIR="${3:-${WIT:-$HERE/../../wit}}"
# Relative paths are the caller's: anchor them before changing folders.
case "$VENV_DIR" in /*) ;; *) VENV_DIR="$PWD/$VENV_DIR" ;; esac
case "$WIT_DIR" in /*) ;; *) WIT_DIR="$PWD/$WIT_DIR" ;; esac
COMPONENTIZE_PY_VERSION="0.25.1"
PYTHON="${PYTHON:-python3}"

if [ ! -f "$WIT_DIR/connector.wit" ]; then
  echo "build.sh: no connector.wit in $WIT_DIR" >&2
  exit 2
fi

# 1. The tool, pinned. Re-uses the venv when the right version is there.
if ! "$VENV_DIR/bin/componentize-py" --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY_VERSION"; then
  if [ "${OFFLINE:-0}" = 1 ]; then
    echo "build.sh: componentize-py $COMPONENTIZE_PY_VERSION is not in $VENV_DIR and OFFLINE=1" >&2
    exit 2
  fi
  "$PYTHON" -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"  # network
fi
CPY="$VENV_DIR/bin/componentize-py"

# 2. Bindings are generated inside `componentize`; no separate step is
#    needed. (`componentize-py -d WIT -w connector bindings DIR` writes
#    stubs for editors and for the host-side unit tests only.)
#
# 3. The component. Only the connector's own modules go on the Python path
#    (a clean staging copy, so tests/ and __pycache__/ never ride along);
#    the app needs nothing from any site-packages, so VIRTUAL_ENV is cleared
#    to keep componentize-py from adding the venv's.
#    Do NOT add `--stub-wasi`: it stubs wasi:http too (the connector could
#    not send a request) and the result needs 44 core instances, over the
#    host's pooling limit of 16.
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp "$HERE/app.py" "$HERE/blocking_http.py" "$STAGE/"
mkdir -p "$(dirname "$OUT_WASM")"
OUT_WASM="$(cd "$(dirname "$OUT_WASM")" && pwd)/$(basename "$OUT_WASM")"
WIT_DIR="$(cd "$WIT_DIR" && pwd)"
cd "$STAGE"
env -u VIRTUAL_ENV "$CPY" -q -d "$WIT_DIR" -w connector componentize -p "$STAGE" app -o "$OUT_WASM"
echo "built $OUT_WASM ($(wc -c < "$OUT_WASM") bytes)"
