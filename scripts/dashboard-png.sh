#!/usr/bin/env bash
# Draws docs/dashboard.png: the chart's Grafana dashboard (charts/gvisor-oom-watcher/dashboards/) filled from
# a real run. Not Grafana (none is packaged for Debian, and there is no container engine here): a real
# Prometheus (Debian's /usr/bin/prometheus) scrapes two real agents every 2 s while
# `java -jar target/gvisor-oom-watcher-tools.jar scenario` runs gVisor pods with real runsc OOM kills against
# the API stand-in; then scripts/dashboard_png.py evaluates every panel's PromQL with Prometheus's
# /api/v1/query_range over the run and draws the panels where the dashboard puts them (matplotlib).
#
# Usage: scripts/dashboard-png.sh [--duration SECONDS] [--out FILE]     (root, runsc, cgroup v1, /dev/kmsg;
#        default 150 s of scenario, about 4 minutes in all; writes docs/dashboard.png)
# Everything it starts (Prometheus, the scenario with its agents, sandboxes and cgroups) and its temp dir are
# removed at the end, on failure and on Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
duration=150
out="$root/docs/dashboard.png"
scrape_interval=2
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dashboard-png: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
[ "$(id -u)" = 0 ] || missing+=("root (the scenario runs runsc sandboxes in pod cgroups)")
[ -x /usr/bin/prometheus ] || missing+=("Prometheus: apt-get install -y prometheus")
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || missing+=("matplotlib: apt-get install -y python3-matplotlib")
command -v curl >/dev/null || missing+=("curl: apt-get install -y curl")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'dashboard-png: cannot run here, missing:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
if [ ! -f "$root/target/gvisor-oom-watcher-tools.jar" ] || [ ! -f "$root/target/gvisor-oom-watcher.jar" ]; then
  echo "==> building the jars (mvn -o -B -q -DskipTests package)"
  (cd "$root" && mvn -o -B -q -DskipTests package)
fi

work=$(mktemp -d /tmp/oomwatch-dashboard-XXXXXX)
prometheus_pid=
scenario_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$scenario_pid" ] && kill -0 "$scenario_pid" 2>/dev/null; then
    # SIGTERM: the scenario's shutdown hook deletes its sandboxes, cgroups and agents; wait for it
    kill -TERM "$scenario_pid" 2>/dev/null || true
    for _ in $(seq 120); do kill -0 "$scenario_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$scenario_pid" 2>/dev/null || true
  fi
  if [ -n "$prometheus_pid" ] && kill -0 "$prometheus_pid" 2>/dev/null; then
    kill -TERM "$prometheus_pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$prometheus_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$prometheus_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  if [ "$status" != 0 ] && [ "$status" != 130 ] && [ "$status" != 143 ] && [ -f "$work/prometheus.log" ]; then
    echo "dashboard-png: failed; Prometheus's log:" >&2
    tail -20 "$work/prometheus.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# two consecutive free loopback ports for the agents (node-a, node-b), and one for Prometheus
read -r agent_port prometheus_port < <(/usr/bin/python3 - <<'EOF'
import socket
def free(port=0):
    s = socket.socket(); s.bind(("127.0.0.1", port)); p = s.getsockname()[1]; s.close(); return p
while True:
    p = free()
    try:
        free(p + 1)
        break
    except OSError:
        pass
q = free()
while q in (p, p + 1):
    q = free()
print(p, q)
EOF
)

cat > "$work/prometheus.yml" <<EOF
# the chart's PodMonitor in short: honorLabels (the pods' own namespace/pod labels) and a node label
global:
  scrape_interval: ${scrape_interval}s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gvisor-oom-watcher
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:${agent_port}"]
        labels: {node: node-a}
      - targets: ["127.0.0.1:$((agent_port + 1))"]
        labels: {node: node-b}
EOF
echo "==> Prometheus on 127.0.0.1:$prometheus_port (scraping every ${scrape_interval} s, tsdb in $work/tsdb)"
/usr/bin/prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" --storage.tsdb.retention.time=1d \
  > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null && break
  kill -0 "$prometheus_pid" 2>/dev/null || { echo "dashboard-png: Prometheus exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null || { echo "dashboard-png: Prometheus not ready" >&2; exit 1; }

echo "==> the scenario: two agents, gVisor pods with real OOM kills, ${duration} s"
started=$(date +%s)
java -jar "$root/target/gvisor-oom-watcher-tools.jar" scenario --duration "$duration" --http-port "$agent_port" \
  --agent-jar "$root/target/gvisor-oom-watcher.jar" --summary "$work/summary.json" &
scenario_pid=$!
wait "$scenario_pid"
scenario_pid=

echo "==> evaluating the dashboard's queries and drawing $out"
mkdir -p "$(dirname "$out")"
/usr/bin/python3 "$root/scripts/dashboard_png.py" --dashboard "$root/charts/gvisor-oom-watcher/dashboards/gvisor-oom-watcher.json" \
  --prometheus "http://127.0.0.1:$prometheus_port" --summary "$work/summary.json" \
  --scrape-interval "$scrape_interval" --out "$out"
echo "==> done in $(( $(date +%s) - started + 0 )) s of scenario and drawing; $(stat -c %s "$out") bytes"
