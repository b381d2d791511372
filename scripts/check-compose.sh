#!/usr/bin/env bash
# Validates docker-compose.yml (there is no Docker engine on our machines to run it): the file
# parses, and it has a container for both brokers and for every service `contactpoint up` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
docker-compose -f docker-compose.yml config -q
declared="$(docker-compose -f docker-compose.yml config --services | sort)"
expected="$( (echo broker-1; echo broker-2; grep -oE 'name: "[a-z-]+", executable' Shared/Supervisor/StackService.swift | cut -d'"' -f2) | sort)"
if [ "$declared" != "$expected" ]; then
    echo "docker-compose.yml declares:"; echo "$declared"; echo "but the stack has:"; echo "$expected"
    exit 1
fi
echo "docker-compose.yml: valid; containers for $(echo "$declared" | tr '\n' ' ')"
