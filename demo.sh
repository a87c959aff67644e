#!/usr/bin/env bash
# The demo: a real gVisor sandbox OOM, reported on its pod by the agent, against an embedded
# Kubernetes API. Run as root on Linux with the cgroup v1 memory controller (see README).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/prereqs.sh
# the real kubectl the demo runs against the stand-in API (pinned; the demo says so if there is none)
bash scripts/install-kubectl.sh || echo "demo.sh: cannot install the pinned kubectl: the demo uses a kubectl on the PATH, or shows none" >&2
mvn -q -B -DskipTests package  # agent jar + tools jar (the demo)
exec java -jar target/gvisor-oom-watcher-tools.jar demo
