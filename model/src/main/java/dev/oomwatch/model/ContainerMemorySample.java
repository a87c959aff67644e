package dev.oomwatch.model;

import java.time.Instant;

/**
 * One container's memory use inside a sandbox, from the sentry's own accounting
 * ({@code runsc events --stats}); used to name the culprit container of a multi-container pod.
 * Immutable.
 */
public record ContainerMemorySample(
    String sandboxId, String containerId, String containerName, long usageBytes, Instant sampledAt)
    implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
