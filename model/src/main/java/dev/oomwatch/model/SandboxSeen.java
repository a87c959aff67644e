package dev.oomwatch.model;

import java.time.Instant;

/** The runsc source found (or re-read) a sandbox's state file. Immutable. */
public record SandboxSeen(SandboxRef sandbox, Instant seenAt) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
