#!/usr/bin/env bash
# The tests, the real-sandbox end-to-end ones included (root, runsc, cgroup v1, /dev/kmsg).
# With CI=true a missing prerequisite fails those tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/prereqs.sh
exec mvn -B verify "$@"
