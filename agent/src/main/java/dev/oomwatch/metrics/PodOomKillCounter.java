package dev.oomwatch.metrics;

import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * {@code oomwatch_pod_oom_kills_total{namespace,pod}}: the OOM kills of each gVisor pod on this node, one
 * series per pod from its first sight (a counter that starts at 0, so that {@code increase()} sees the
 * first kill), removed when the pod goes.
 *
 * <p>A kill is counted once, by its incident's deterministic name, however it is learnt: detected now,
 * found again in the kernel log replayed after an agent restart, or read back from the OOMIncidents of
 * this node when the reconciler starts. Where the pod's cgroup counts more kills than that (cgroup v2
 * keeps every kill in the pod cgroup), the count is raised to the cgroup's. So after an agent restart
 * the counter comes back to what the kernel, the cgroups and the API still remember; it never falls
 * while the series exists.
 *
 * <p>Thread-safe: kills are noted from the publishing and reconciling threads, the value is computed on
 * the scraping thread.
 */
final class PodOomKillCounter {
  /** Incident names kept per pod to recognise a kill seen again; a pod killed more often counts on. */
  static final int NAMES_KEPT = 256;
  /** Far above a node's pods: beyond it, the pods that are gone are forgotten without waiting for a scrape. */
  static final int PODS_KEPT = 4_096;

  private volatile GvisorPods pods;
  private volatile Function<String, OptionalLong> cgroupKills = uid -> OptionalLong.empty();
  private final Map<String, Kills> byUid = new ConcurrentHashMap<>();

  /** What is counted of one pod; guarded by itself. */
  private static final class Kills {
    final Set<String> names = new LinkedHashSet<>();
    long counted;
    long exported;
  }

  /** Counts the kill reported as incident {@code incidentName} of {@code pod}, unless counted before. */
  void killOf(PodRef pod, String incidentName) {
    GvisorPods pods = this.pods;
    if (pods != null && byUid.size() > PODS_KEPT) {
      byUid.keySet().removeIf(uid -> pods.byUid(uid).isEmpty());
    }
    Kills kills = byUid.computeIfAbsent(pod.uid(), uid -> new Kills());
    synchronized (kills) {
      if (kills.names.add(incidentName)) {
        kills.counted++;
        if (kills.names.size() > NAMES_KEPT) {
          var oldest = kills.names.iterator();
          oldest.next();
          oldest.remove();
        }
      }
    }
  }

  /** The current value for a pod of this node (0 when nothing is known); any thread. */
  long value(String podUid) {
    Kills kills = byUid.computeIfAbsent(podUid, uid -> new Kills());
    synchronized (kills) {
      long value = Math.max(kills.exported, Math.max(kills.counted, cgroupKills.apply(podUid).orElse(0)));
      kills.exported = value;
      return value;
    }
  }

  /**
   * Registers the counter; each scrape also forgets the pods that are gone.
   *
   * @param pods        the gVisor pods of this node: each gets a series, and only they do
   * @param cgroupKills the kills a pod's cgroups count now, by pod uid (empty when unknown)
   */
  void register(AgentMetrics metrics, GvisorPods pods, Function<String, OptionalLong> cgroupKills) {
    this.pods = pods;
    this.cgroupKills = cgroupKills;
    metrics.registerLabelledCounter("oomwatch_pod_oom_kills",
        "OOM kills of the gVisor pod: each reported kill once, raised to what the pod's cgroup counts (cgroup v2"
            + " keeps them all); survives agent restarts as far as the kernel log, the cgroups and the"
            + " OOMIncidents remember",
        List.of("namespace", "pod"), samples -> {
          Set<String> present = new HashSet<>();
          for (WatchedPod pod : pods.all()) {
            PodRef ref = pod.ref();
            present.add(ref.uid());
            samples.add(value(ref.uid()), ref.namespace(), ref.name());
          }
          byUid.keySet().retainAll(present);
        });
  }
}
