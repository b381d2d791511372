#!/usr/bin/env bash
# Regenerates the Swift code for every file under Proto/ into Shared/ContactPointAPI/Generated.
#
# Builds protoc-gen-swift (swift-protobuf 1.39.0) and protoc-gen-grpc-swift-2 (grpc-swift-protobuf
# 2.4.1) once into .build-plugins/ from the package copies SwiftPM resolves, then runs Debian's
# protoc with them. The generated code is committed; CI never runs this script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plugins="$root/.build-plugins"
out="$root/Shared/ContactPointAPI/Generated"

command -v protoc >/dev/null || { echo "protoc is missing: apt-get install protobuf-compiler" >&2; exit 1; }

build_plugin() { # repo tag product
    local dir="$plugins/$(basename "$1")"
    if [ ! -x "$dir/.build/release/$3" ]; then
        [ -d "$dir" ] || git clone --quiet --branch "$2" "https://github.com/$1" "$dir"
        (cd "$dir" && swift build -c release --product "$3") >&2
    fi
    echo "$dir/.build/release/$3"
}
swift_plugin=$(build_plugin apple/swift-protobuf 1.39.0 protoc-gen-swift)
grpc_plugin=$(build_plugin grpc/grpc-swift-protobuf 2.4.1 protoc-gen-grpc-swift-2)

cd "$root/Proto"
protos=$(find . -name '*.proto' | sed 's|^\./||' | sort)
rm -rf "$out" && mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$swift_plugin" --plugin=protoc-gen-grpc-swift="$grpc_plugin" \
    --swift_out="$out" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    $protos
# What scripts/check-style.sh compares: the sources and what was generated from them.
(cd "$root" && sha256sum $(find Proto -name '*.proto' | sort) Shared/ContactPointAPI/Generated/*.swift > Proto/generated-code.sha256)
echo "generated into ${out#$root/}:"
ls "$out"
