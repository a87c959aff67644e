#!/usr/bin/env bash
# Installs what the demo and the tests need on a Debian machine, only what is missing:
# a JDK 17+ and Maven (build), runsc (gVisor), a static busybox (the sandboxes' rootfs) and promtool.
# Needs root for apt-get; does nothing when everything is there already. (The cgroup v2 VM test's own
# needs are scripts/vm/prepare.sh's, which test.sh runs.)
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v runsc >/dev/null 2>&1 || missing+=(runsc)
# promtool (Debian's prometheus package): Prometheus's own parser checks the agent's /metrics
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# busybox-static puts a statically linked busybox at /bin/busybox; a dynamic one cannot run in a sandbox
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  missing+=(busybox-static)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prereqs: missing ${missing[*]}; run as root (sudo $0) to install them with apt-get" >&2
  exit 1
fi
echo "prereqs: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
