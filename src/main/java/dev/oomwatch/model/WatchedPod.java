package dev.oomwatch.model;

import java.util.OptionalLong;

/**
 * A pod on this node that runs in a gVisor sandbox (its RuntimeClass has the configured handler), as
 * the pods source last saw it. {@code memoryLimitBytes} is the pod-level limit kubelet gives the pod's
 * cgroup (the sum of its containers' limits), empty when any container has none. Immutable.
 */
public record WatchedPod(PodRef ref, String runtimeClassName, OptionalLong memoryLimitBytes) {}
