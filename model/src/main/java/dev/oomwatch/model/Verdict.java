package dev.oomwatch.model;

/**
 * How sure the agent is that a sandbox was killed for lack of memory, strongest first.
 * {@link #CONFIRMED}: the kernel or a cgroup counter counted a kill attributable to the pod, or kubelet
 * wrote reason {@code OOMKilled} for one of its containers (the runtime saw the cgroup's OOM kill).
 * {@link #LIKELY}: the sandbox died without an exit status while at or near its limit.
 * {@link #POSSIBLE}: only exit codes point to it.
 */
public enum Verdict {
  CONFIRMED("Confirmed"),
  LIKELY("Likely"),
  POSSIBLE("Possible");

  private final String display;

  Verdict(String display) {
    this.display = display;
  }

  /** The spelling users see in the CR, Events and metrics. */
  public String display() {
    return display;
  }
}
