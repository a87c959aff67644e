#!/usr/bin/env bash
# The demo: a real gVisor sandbox OOM, reported on its pod by the agent, against an embedded
# Kubernetes API. Run as root on Linux with the cgroup v1 memory controller (see README).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/prereqs.sh
mvn -q -B -DskipTests package  # agent jar + tools jar (the demo)
exec java -jar target/gvisor-oom-watcher-tools.jar demo
