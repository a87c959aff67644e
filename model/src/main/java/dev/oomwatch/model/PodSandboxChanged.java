package dev.oomwatch.model;

import java.time.Instant;

/** Kubelet's {@code SandboxChanged} Event on a gVisor pod: its sandbox died and will be re-created. Immutable. */
public record PodSandboxChanged(PodRef pod, Instant at) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
