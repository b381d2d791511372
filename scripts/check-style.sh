#!/usr/bin/env bash
# Fails on style drift and on generated code that does not match Proto/:
# - every hand-written Swift file must pass `swift format lint --strict` with .swift-format
#   (fix with: swift format format --in-place FILE…);
# - Shared/ContactPointAPI/Generated must be what scripts/generate-protos.sh made from the .proto
#   files as they are now (Proto/generated-code.sha256 records both; regenerate after a change).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t sources < <(find Package.swift Benchmarks Clients Services Shared Tests -name '*.swift' \
    -not -path '*/Generated/*' -not -path '*/.build*' | sort)
if ! swift format lint --strict --parallel "${sources[@]}"; then
    echo "style: the files above drift from .swift-format; run: swift format format --in-place FILE…" >&2
    exit 1
fi

recorded=Proto/generated-code.sha256
listed=$(awk '{print $2}' "$recorded" | grep '\.proto$' | sort)
present=$(find Proto -name '*.proto' | sort)
if [ "$listed" != "$present" ] || ! sha256sum --check --quiet --strict "$recorded"; then
    echo "generated code: Shared/ContactPointAPI/Generated does not match Proto/; run scripts/generate-protos.sh and commit" >&2
    exit 1
fi
echo "style and generated code: ok (${#sources[@]} Swift files)"
