#!/usr/bin/env bash
# Makes sure Debian's current amd64 kernel (the package linux-image-amd64 depends on) and the virtio-net
# modules the cgroup v2 VM test loads are cached, and prints the cache directory:
#   ${OOMWATCH_VM_CACHE:-/var/cache/oomwatch-vm}/kernel/<package>/{vmlinuz,release,modules/*.ko}
# plus the symlink kernel/current. Downloads (apt-get download) only when that package is not cached yet;
# older cached kernels are removed. Quiet unless it downloads or fails.
set -euo pipefail
cache=${OOMWATCH_VM_CACHE:-/var/cache/oomwatch-vm}
# the order insmod needs them in (each needs the ones before it)
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"

current_package() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1
}

pkg=$(current_package || true)
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(current_package || true)
fi
if [ -z "$pkg" ]; then
  # no package lists (offline, not root): a cached kernel will do
  if [ -f "$cache/kernel/current/vmlinuz" ]; then
    readlink -f "$cache/kernel/current"
    exit 0
  fi
  echo "vm kernel: cannot tell Debian's current kernel package (apt-cache depends linux-image-amd64 gave nothing; run apt-get update)" >&2
  exit 1
fi
dir=$cache/kernel/$pkg
if [ -f "$dir/vmlinuz" ] && [ -f "$dir/modules/virtio_net.ko" ]; then
  ln -sfn "$pkg" "$cache/kernel/current"
  echo "$dir"
  exit 0
fi

echo "vm kernel: downloading $pkg for the cgroup v2 VM test" >&2
mkdir -p "$cache/kernel"
work=$(mktemp -d "$cache/kernel/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "$pkg" >/dev/null 2>&1) \
  || { echo "vm kernel: apt-get download $pkg failed" >&2; exit 1; }
dpkg-deb -x "$work/${pkg}"_*.deb "$work/x"
mkdir -p "$work/out/modules"
cp "$work"/x/boot/vmlinuz-* "$work/out/vmlinuz"
basename "$work"/x/boot/vmlinuz-* | sed 's/^vmlinuz-//' > "$work/out/release"
for m in $modules; do
  f=$(find "$work/x/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
  [ -n "$f" ] || { echo "vm kernel: $pkg has no module $m" >&2; exit 1; }
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$work/out/modules/$m.ko" ;;
    *.ko.zst) zstd -qdc "$f" > "$work/out/modules/$m.ko" ;;
    *) cp "$f" "$work/out/modules/$m.ko" ;;
  esac
done
echo "$modules" > "$work/out/modules/order"
rm -rf "$dir"
mv "$work/out" "$dir"
ln -sfn "$pkg" "$cache/kernel/current"
for old in "$cache"/kernel/linux-image-*; do
  [ "$old" = "$dir" ] || rm -rf "$old"
done
echo "$dir"
