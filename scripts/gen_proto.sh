#!/usr/bin/env bash
# Regenerates the protobuf/gRPC stubs in runtime/yr_runtime/proto/ from proto/. Needs grpcio-tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
python -m grpc_tools.protoc -I "$root/proto" --python_out="$out" --grpc_python_out="$out" \
    "$root/proto/yr_runtime/proto/control.proto"
cp "$out/yr_runtime/proto/control_pb2.py" "$out/yr_runtime/proto/control_pb2_grpc.py" "${1:-$root/runtime/yr_runtime/proto}/"
rm -rf "$out"
