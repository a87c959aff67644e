package dev.oomwatch.model;

import java.time.Instant;

/**
 * A sandbox stopped: its sentry process is gone (or the metric server says it is no longer running).
 * Alone this is no evidence of an OOM: {@code runsc kill KILL} and a normal pod deletion look the same
 * from here. Immutable.
 *
 * @param how what showed it, e.g. {@code sentry pid 7932 exited}
 */
public record SandboxDied(SandboxRef sandbox, Instant noticedAt, String how) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
