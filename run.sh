#!/bin/sh
# The project's entry point on a fresh machine: `./run.sh dev` runs a development node,
# `./run.sh test` runs the whole test suite, `./run.sh bench` runs the benchmarks.
# Each creates (or reuses) the virtual environment in .venv and installs the project into it.
set -eu
cd "$(dirname "$0")"
VENV="${CMU_VENV:-.venv}"
PY="$VENV/bin/python"

ensure_system_packages() {
    # Debian's python3 ships without venv/ensurepip; install it when we are root and it is missing.
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        else
            echo "python3 has no venv module: install python3-venv (Debian) and run again" >&2
            exit 1
        fi
    fi
}

ensure_etcd() {
    # The network tests and bench/network.py start their own etcd members: install Debian's etcd-server
    # when etcd is missing and we are root (the tests say why they skip when it cannot be had).
    if ! command -v etcd >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null \
            || echo "could not install etcd-server: the network tests will be skipped" >&2
    fi
}

ensure_nodejs() {
    # tests/interop/test_polkadot_js.py runs @polkadot/api under Node.js: install Debian's nodejs and npm
    # when they are missing and we are root (the test says why it skips when they cannot be had).
    if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
            || echo "could not install nodejs and npm: the @polkadot/api test will be skipped" >&2
    fi
}

ensure_chromium() {
    # The dashboard's browser tests drive Debian's chromium through Playwright (never a downloaded browser):
    # install it when it is missing and we are root (the tests say why they skip when it cannot be had).
    if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            || echo "could not install chromium: the dashboard's browser tests will be skipped" >&2
    fi
}

ensure_dashboard() {
    # The dashboard's JavaScript (cmu/node/dashboard/src) is bundled by esbuild from npm packages pinned in
    # package-lock.json: build it when the bundle is missing or older than its sources. Installs Debian's
    # nodejs and npm when missing and root; without them the node serves a page saying how to build it.
    dir=cmu/node/dashboard
    bundle=$dir/static/dist/app.js
    if [ -f "$bundle" ] && [ -z "$(find $dir/src $dir/package.json $dir/package-lock.json -newer "$bundle" 2>/dev/null)" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || true
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is missing: the dashboard bundle cannot be built (install nodejs and npm)" >&2
        return 0
    fi
    (cd $dir && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run -s build && npm run -s build:sign) \
        || echo "could not build the dashboard bundle (see above)" >&2
}

ensure_venv() {
    stamp="$VENV/.installed"
    if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
        return 0
    fi
    ensure_system_packages
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$PY" -m pip install -q --disable-pip-version-check -e '.[test]' -e examples/notes_pallet
    touch "$stamp"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    dev)
        ensure_venv
        ensure_dashboard
        exec "$PY" node.py --dev "$@"
        ;;
    test)
        ensure_venv
        ensure_etcd
        ensure_nodejs
        ensure_chromium
        ensure_dashboard
        "$PY" -m ruff check .
        "$PY" -m mypy
        exec "$PY" -m pytest "$@"
        ;;
    bench)
        ensure_venv
        ensure_etcd
        ensure_chromium
        ensure_dashboard
        for b in bench/*.py; do
            echo "== $b"
            "$PY" "$b"
        done
        ;;
    *)
        echo "usage: ./run.sh dev|test|bench [args...]" >&2
        exit 2
        ;;
esac
