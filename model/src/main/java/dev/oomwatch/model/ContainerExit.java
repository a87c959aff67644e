package dev.oomwatch.model;

import java.time.Instant;

/**
 * Kubelet reported a container of a gVisor pod terminated: its exit code and reason as the pod status
 * says ({@code lastState.terminated} after a restart, {@code state.terminated} otherwise). Under gVisor an
 * OOM kill of the sandbox shows up here as 128 (or 137, 143, even 0) with reason {@code Error},
 * {@code Unknown} or {@code Completed} — never as {@code OOMKilled}, which is why this is weak evidence.
 * Immutable.
 */
public record ContainerExit(
    PodRef pod, String container, int exitCode, String reason, Instant finishedAt, int restartCount)
    implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
