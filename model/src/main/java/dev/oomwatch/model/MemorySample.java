package dev.oomwatch.model;

/**
 * A pod cgroup's memory use at one poll, for the NearOOM warning: usage against the limit. The cgroup
 * source sends one per pod per poll only while usage is at or above the configured share of the limit,
 * and one more when it drops below. Immutable.
 */
public record MemorySample(String podUid, CgroupMemorySnapshot snapshot) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
