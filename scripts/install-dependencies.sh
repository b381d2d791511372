#!/usr/bin/env bash
# Installs the Debian packages ContactPoint builds and tests against, if any are missing.
# Run as root (or with sudo available); otherwise it prints the exact command to run.
set -euo pipefail
packages=(
    libzmq3-dev          # ZeroMQ (the bus)
    libssl-dev           # OpenSSL
    libsqlite3-dev       # SQLite (service databases)
    libqrencode-dev      # QR codes for authenticator enrolment (contactpoint enrol)
    libjemalloc-dev      # the allocator the brokers and services link (Package.swift)
    pkg-config           # lets SwiftPM find the libraries above
    protobuf-compiler    # protoc, for scripts/generate-protos.sh
    protobuf-c-compiler  # protoc-c, to prove Proto/ works unchanged with protobuf-c
    libprotobuf-c-dev    # the C SDK (Clients/libcontactpoint) and its tests
    make
    gcc
    python3-zmq          # the end-to-end test of a client written in another language
    python3-protobuf
    strace               # records file-system calls for the power-cut tests (Tests/EndToEndTests/PowerCut)
    tzdata               # time zones: the audit service's working-hours rule (Europe/London)
    docker-compose       # validates docker-compose.yml (scripts/check-compose.sh); no engine needed
    chromium             # the portal's browser tests (Tests/Browser), headless
    chromium-driver
    python3-selenium
    python3-pip          # fetches axe-core for the browser tests' accessibility checks (below)
    fonts-liberation     # text in the browser tests' screenshots
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages; run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
command -v swift >/dev/null || {
    echo "swift is missing: install the Swift 6.3 toolchain (swift.org) and put it on PATH" >&2
    exit 1
}
# axe-core, the accessibility engine the portal's browser tests run in Chromium: the copy that the
# axe-selenium-python wheel on PyPI carries (axe-core 4.10), unpacked into .build/axe/.
axe="$(cd "$(dirname "$0")/.." && pwd)/.build/axe/axe.min.js"
if [ ! -s "$axe" ]; then
    echo "fetching axe-core (axe-selenium-python 3.0.0 from PyPI) into $axe"
    wheel_dir="$(mktemp -d)"
    /usr/bin/python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.12 axe-selenium-python==3.0.0 -d "$wheel_dir"
    mkdir -p "$(dirname "$axe")"
    /usr/bin/python3 - "$wheel_dir" "$axe" <<'PYTHON'
import glob, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0])
with open(sys.argv[2], "wb") as out:
    out.write(wheel.read("axe_selenium_python/node_modules/axe-core/axe.min.js"))
PYTHON
    rm -rf "$wheel_dir"
fi
