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
