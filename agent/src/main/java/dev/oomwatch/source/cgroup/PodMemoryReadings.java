package dev.oomwatch.source.cgroup;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.PodRef;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The latest poll's memory figures of each pod cgroup the poller follows, for {@code /metrics}: cAdvisor
 * reports 0 for the memory of gVisor pods (gVisor issue 13067), so these are the figures dashboards and
 * memory alerts can use. An entry is added when the poller finds a pod's cgroup and removed when it
 * forgets the pod (deleted, or its cgroup gone), so the series stay bounded by the node's pods.
 *
 * <p>Thread-safety: the polling thread writes (without allocating: each pod's figures are volatile
 * fields of one object); the scraping thread reads. A scrape may see one pod's figures from two
 * consecutive polls, which is harmless for gauges.
 */
final class PodMemoryReadings {
  private final ConcurrentMap<String, Reading> byUid = new ConcurrentHashMap<>();

  /** One pod's figures, written by the polling thread only. */
  static final class Reading {
    final PodRef pod;
    volatile long usageBytes = -1;
    /** -1 when unlimited or unreadable. */
    volatile long limitBytes = -1;
    volatile boolean nearLimit;
    /** The kills the cgroup counts now; -1 until read. */
    volatile long oomKills = -1;

    Reading(PodRef pod) {
      this.pod = pod;
    }

    void update(long usage, long limit, boolean near, long kills) {
      usageBytes = usage;
      limitBytes = limit;
      nearLimit = near;
      oomKills = kills;
    }
  }

  Reading follow(PodRef pod) {
    return byUid.computeIfAbsent(pod.uid(), uid -> new Reading(pod));
  }

  void forget(String podUid) {
    byUid.remove(podUid);
  }

  void forgetAll() {
    byUid.clear();
  }

  /** The kills the pod's cgroups count now, where the poller follows the pod; any thread. */
  OptionalLong oomKills(String podUid) {
    Reading reading = byUid.get(podUid);
    return reading == null || reading.oomKills < 0 ? OptionalLong.empty() : OptionalLong.of(reading.oomKills);
  }

  /** Registers the per-pod gauges, read from this table at each scrape. */
  void register(AgentMetrics metrics) {
    var labels = java.util.List.of("namespace", "pod");
    metrics.registerGauge("oomwatch_pod_memory_usage_bytes",
        "Memory the gVisor pod's cgroup uses (memory.usage_in_bytes / memory.current), from the latest poll;"
            + " cAdvisor reports 0 for gVisor pods",
        labels, samples -> byUid.values().forEach(r -> {
          if (r.usageBytes >= 0) {
            samples.add(r.usageBytes, r.pod.namespace(), r.pod.name());
          }
        }));
    metrics.registerGauge("oomwatch_pod_memory_limit_bytes",
        "Memory limit of the gVisor pod's cgroup (memory.limit_in_bytes / memory.max); absent when unlimited",
        labels, samples -> byUid.values().forEach(r -> {
          if (r.limitBytes > 0) {
            samples.add(r.limitBytes, r.pod.namespace(), r.pod.name());
          }
        }));
    metrics.registerGauge("oomwatch_pod_memory_near_limit",
        "1 while the gVisor pod's memory use is at or above the near-OOM share of its limit, else 0",
        labels, samples -> byUid.values().forEach(r -> {
          if (r.usageBytes >= 0) {
            samples.add(r.nearLimit ? 1 : 0, r.pod.namespace(), r.pod.name());
          }
        }));
  }
}
