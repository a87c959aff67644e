package dev.oomwatch.model;

import java.time.Instant;

/**
 * Kubelet reported a container of a gVisor pod terminated: its exit code and reason as the pod status
 * says ({@code lastState.terminated} after a restart, {@code state.terminated} otherwise). Under older
 * runsc an OOM kill of the sandbox shows up here as 128 (or 137, 143, even 0) with reason {@code Error},
 * {@code Unknown} or {@code Completed}: weak evidence. Newer containerd runsc shims on cgroup v2 see the
 * cgroup's {@code oom_kill} event themselves and kubelet then writes reason {@link #OOM_KILLED} (exit 137):
 * that is the runtime's own statement of an OOM kill ({@link #oomKilled}). Immutable.
 */
public record ContainerExit(
    PodRef pod, String container, int exitCode, String reason, Instant finishedAt, int restartCount)
    implements Observation {
  /** The reason kubelet writes when the runtime reported the container OOM-killed. */
  public static final String OOM_KILLED = "OOMKilled";

  /** True when kubelet says the runtime saw this container OOM-killed (whatever the exit code). */
  public boolean oomKilled() {
    return OOM_KILLED.equals(reason);
  }

  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
