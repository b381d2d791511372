#!/usr/bin/env bash
# Proves every file under Proto/ is usable unchanged by protobuf-c: runs protoc-c over all of
# them and compiles the C it generates against libprotobuf-c.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in protoc-c cc; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install protobuf-c-compiler gcc" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root/Proto"
protos=$(find . -name '*.proto' | sed 's|^\./||' | sort)
protoc-c --c_out="$work" $protos
count=0
for c in $(cd "$work" && find . -name '*.pb-c.c'); do
    cc -c -Wall -Werror -I "$work" "$work/$c" -o "$work/$(basename "$c").o"
    count=$((count + 1))
done
echo "protoc-c: $(echo $protos | wc -w) proto files accepted, $count C files compiled"
