package dev.oomwatch.model;

import java.time.Instant;

/**
 * The cgroup source finished one poll of every watched pod, which it started at {@code startedAt}; it
 * comes after every signal of that poll. It tells inference that any kill counted before
 * {@code startedAt} has been seen by now: a sandbox death noticed before that instant whose pod's
 * {@code oom_kill} did not rise was not counted by the cgroup as a kill. Immutable.
 */
public record CgroupPolled(Instant startedAt) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
