package dev.oomwatch.model;

import java.util.Optional;

/**
 * A memory counter of a pod's (or its sandbox's) cgroup rose between two polls: the cgroup source's
 * evidence of a kill ({@link Kind#OOM_KILL}) or of the limit being hit ({@link Kind#LIMIT_HIT}).
 * Immutable.
 *
 * @param podUid     the pod the cgroup belongs to
 * @param sandboxId  the sandbox whose cgroup it is, or which was the pod's only sandbox at the time;
 *                   empty when the source could not tell
 * @param kind       what rose
 * @param counter    which counter, as the kernel names it ({@code oom_kill}, {@code failcnt}, {@code max}, {@code oom})
 * @param before     its value at the previous poll
 * @param after      its value now
 * @param snapshot   the cgroup's counters now
 */
public record CgroupOomSignal(
    String podUid,
    Optional<String> sandboxId,
    Kind kind,
    String counter,
    long before,
    long after,
    CgroupMemorySnapshot snapshot) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }

  /** What the rise means. */
  public enum Kind {
    /** The kernel counted an OOM kill in this cgroup (v2 {@code oom_kill}, v1 sandbox {@code oom_kill}). */
    OOM_KILL,
    /** The cgroup hit its limit (v1 {@code failcnt} with peak at the limit; v2 {@code max}/{@code oom}). */
    LIMIT_HIT
  }
}
