#!/usr/bin/env bash
# What the cgroup v2 end-to-end test (CgroupV2VmIT) needs beside the rest: qemu and cpio (apt), Debian's
# kernel with its virtio-net modules and a jlink'ed Java runtime, both cached under /var/cache/oomwatch-vm
# (OOMWATCH_VM_CACHE moves it). Idempotent and quiet; it only warns, since under CI=true the test itself
# fails on anything missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# qemu's many recommended packages (GUI, firmware) are not needed
vm_missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || vm_missing+=(qemu-system-x86)
command -v cpio >/dev/null 2>&1 || vm_missing+=(cpio)
if [ ${#vm_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "vm/prepare: missing ${vm_missing[*]}; run as root to install them (only the cgroup v2 VM test needs them)" >&2
  else
    echo "vm/prepare: installing ${vm_missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${vm_missing[@]}" >/dev/null; } \
      || echo "vm/prepare: could not install ${vm_missing[*]}" >&2
  fi
fi
bash "$here/kernel.sh" >/dev/null || echo "vm/prepare: no kernel for the cgroup v2 VM test" >&2
bash "$here/runtime.sh" >/dev/null || echo "vm/prepare: no Java runtime for the cgroup v2 VM test" >&2
exit 0
