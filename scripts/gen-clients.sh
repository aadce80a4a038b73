#!/usr/bin/env bash
# Usage: scripts/gen-clients.sh [--check]
#
# Regenerates the committed client code from the contract in proto/:
#   - Python: clients/python/bazaar_client/generated/ with grpcio-tools (messages, typing
#     stubs, gRPC stubs and servicer bases), its imports rewritten to live inside the
#     `bazaar_client.generated` package so the package imports without touching sys.path;
#   - TypeScript: clients/typescript/src/gen/ with buf and the protoc-gen-es plugin
#     installed from npm in clients/typescript/node_modules (no remote plugin).
# Needs the Python environment (scripts/python-env.sh) and the npm packages
# (`npm ci` in clients/typescript).
#
# With --check, it regenerates and then fails if that changed anything git tracks (or left
# new files): the committed code is stale and must be regenerated and committed.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
    --check) check=true ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

python=.venv/bin/python
[ -x "$python" ] || { echo "gen-clients: no .venv; run scripts/python-env.sh" >&2; exit 1; }
[ -x clients/typescript/node_modules/.bin/buf ] ||
    { echo "gen-clients: no node_modules; run npm ci in clients/typescript" >&2; exit 1; }

# --- Python -------------------------------------------------------------------------------
out=clients/python/bazaar_client/generated
rm -rf "$out"
mkdir -p "$out"
mapfile -t protos < <(cd proto && find bazaar -name '*.proto' | LC_ALL=C sort)
"$python" -m grpc_tools.protoc --proto_path=proto \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" "${protos[@]}"
# protoc writes absolute imports (`from bazaar.type.v1 import money_pb2`); make them point
# inside this package.
find "$out" -name '*.py' -o -name '*.pyi' | LC_ALL=C sort | while read -r file; do
    sed -i -E 's/^from bazaar\./from bazaar_client.generated.bazaar./' "$file"
done
find "$out" -type d | LC_ALL=C sort | while read -r dir; do
    [ "$dir" = "$out" ] || : >"$dir/__init__.py"
done
cat >"$out/__init__.py" <<'PY'
"""Messages, stubs and servicer bases compiled from proto/ by scripts/gen-clients.sh.

Do not edit: regenerate. `bazaar_client.generated.bazaar.<service>.v1.<service>_pb2` holds
the messages of `bazaar.<service>.v1`, `..._pb2_grpc` its `<Service>Stub` and servicer base.
"""
PY

# --- TypeScript ---------------------------------------------------------------------------
(cd clients/typescript && PATH="$PWD/node_modules/.bin:$PATH" buf generate)

echo "gen-clients: regenerated $out and clients/typescript/src/gen from proto/"

if $check; then
    stale=$(git status --porcelain -- "$out" clients/typescript/src/gen)
    if [ -n "$stale" ]; then
        echo "gen-clients: FAIL: the committed generated code is stale; run scripts/gen-clients.sh and commit:" >&2
        echo "$stale" >&2
        git --no-pager diff --stat -- "$out" clients/typescript/src/gen >&2
        exit 1
    fi
    echo "gen-clients: the committed generated code is up to date"
fi
