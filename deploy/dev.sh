#!/usr/bin/env bash
# The two commands of the README, on a fresh machine of this kind:
#   bash deploy/dev.sh demo   # set up, start Kafka + Redis + the three services, feed a night
#   bash deploy/dev.sh test   # set up, start Kafka + Redis, run the whole test suite
# Set-up is idempotent: a virtualenv in .venv (VOTEWIRE_VENV), the project
# installed into it, the local stack started (deploy/stack.py, which installs
# redis-server from Debian and fetches Kafka from Maven Central when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOTEWIRE_VENV:-.venv}
PYTHON=${PYTHON:-python3}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[dev] creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.votewire-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "[dev] installing votewire and its test dependencies"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[test]'
    touch "$stamp"
  fi
  "$VENV/bin/votewire" stack up
}

# The dashboard's browser test drives Debian's Chromium with Playwright (never
# `playwright install`: browsers are not downloaded, the system one is used).
browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "[dev] installing Debian's chromium for the browser test"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium \
      || { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
           --no-install-recommends chromium; }
  fi
}

# The Kubernetes manifests' test renders deploy/kubernetes with kubectl's
# kustomize; without kubectl or kustomize on the machine, kustomize is built
# once from the Go module proxy into the cache (about 4 min the first time).
KUSTOMIZE_VERSION=v5.7.1
kustomize_tool() {
  command -v kubectl >/dev/null 2>&1 && return 0
  command -v kustomize >/dev/null 2>&1 && return 0
  local bin="${VOTEWIRE_CACHE_DIR:-$HOME/.cache/votewire}/bin"
  [ -x "$bin/kustomize" ] && return 0
  if command -v go >/dev/null 2>&1; then
    echo "[dev] installing kustomize $KUSTOMIZE_VERSION for the manifests' test"
    GOBIN="$bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" \
      || echo "[dev] kustomize did not install: the render test will skip, saying why"
  fi
}

case "${1:-}" in
  demo)
    shift
    setup
    exec "$VENV/bin/votewire" demo "$@"
    ;;
  test)
    shift
    setup
    browser
    kustomize_tool
    "$VENV/bin/ruff" check services tests bench deploy examples
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: bash deploy/dev.sh demo|test [args...]" >&2
    exit 2
    ;;
esac
