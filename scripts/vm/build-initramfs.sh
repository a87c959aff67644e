#!/usr/bin/env bash
# Builds the initramfs of the cgroup v2 VM test: busybox (with its applets), runsc, the virtio-net
# modules of the cached kernel (kernel.sh), the cached Java runtime and the libraries it needs
# (runtime.sh) at /opt/jre, a sandbox rootfs at /lab/rootfs (the static busybox alone), and then every
# file of STAGE_DIR on top (the test's init scripts, the agent, its kubeconfig, the OCI bundles).
# Written uncompressed: under emulation, the kernel would take longer to gunzip it than qemu takes to
# load it.
#
# usage: build-initramfs.sh OUT_FILE STAGE_DIR
set -euo pipefail
out=${1:?output file}
stage=${2:?stage directory}
here=$(cd "$(dirname "$0")" && pwd)
cache=${OOMWATCH_VM_CACHE:-/var/cache/oomwatch-vm}
kernel=$cache/kernel/current
[ -f "$kernel/vmlinuz" ] || { echo "build-initramfs: no cached kernel under $cache/kernel (run scripts/prereqs.sh)" >&2; exit 1; }
runtime=$(bash "$here/runtime.sh")
busybox=${BUSYBOX:-/bin/busybox}
runsc=${RUNSC:-$(command -v runsc)}

ir=$(mktemp -d "${TMPDIR:-/tmp}/oomwatch-initramfs.XXXXXX")
trap 'rm -rf "$ir"' EXIT
mkdir -p "$ir"/{bin,proc,sys,dev,tmp,run,etc,opt,lib/modules} "$ir"/lab/rootfs/{bin,proc,dev,sys,tmp}
cp "$busybox" "$ir/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ir/bin/$applet"
done
cp "$runsc" "$ir/bin/runsc"
cp "$kernel"/modules/* "$ir/lib/modules/"
cp -a "$runtime/jre" "$ir/opt/jre"
cp -a "$runtime/sysroot/." "$ir/"
cp "$busybox" "$ir/lab/rootfs/bin/busybox"
cp -a "$stage/." "$ir/"
(cd "$ir" && find . | cpio -o -H newc --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
