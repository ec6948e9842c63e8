#!/usr/bin/env bash
# mypy --strict on the pure core. The import package `votewire` lives in the
# folder `services/` (setuptools package-dir), which mypy cannot map; a
# throw-away symlink named votewire gives it the real module names.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VOTEWIRE_VENV:-.venv}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$PWD/services" "$tmp/votewire"
MYPYPATH="$tmp" exec "$VENV/bin/mypy" -p votewire.core "$@"
