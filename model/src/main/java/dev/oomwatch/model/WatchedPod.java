package dev.oomwatch.model;

import java.util.OptionalLong;

/**
 * A pod on this node that runs in a gVisor sandbox (its RuntimeClass has the configured handler), as
 * the pods source last saw it. {@code memoryLimitBytes} is the pod-level limit kubelet gives the pod's
 * cgroup (the sum of its containers' limits), empty when any container has none. Immutable.
 *
 * @param deletionRequested the pod has a {@code metadata.deletionTimestamp}: kubelet is stopping it (a
 *                          deletion, an API-initiated eviction, a preemption), so its sandbox dies anyway
 * @param evicted           kubelet or the control plane has disrupted it: {@code status.reason}
 *                          {@code Evicted}, or a {@code DisruptionTarget} condition that is {@code True}
 */
public record WatchedPod(PodRef ref, String runtimeClassName, OptionalLong memoryLimitBytes,
    boolean deletionRequested, boolean evicted) {

  /** A pod that is neither being deleted nor evicted. */
  public WatchedPod(PodRef ref, String runtimeClassName, OptionalLong memoryLimitBytes) {
    this(ref, runtimeClassName, memoryLimitBytes, false, false);
  }

  /**
   * True when the pod is being stopped on purpose (deleted or evicted): its sandbox's death, even at
   * its memory limit, is then not taken for an OOM kill unless the kernel or a cgroup counter counted one.
   */
  public boolean beingStopped() {
    return deletionRequested || evicted;
  }
}
