package dev.oomwatch.model;

/**
 * A running sandbox whose processes sit in a memory cgroup with no limit (directly or through its
 * ancestors) while its pod declares one: the limit is not enforced at all (seen with the systemd
 * cgroup driver and a runsc without {@code systemd-cgroup}). Immutable.
 *
 * @param sandbox        the sandbox
 * @param actualCgroup   the memory cgroup its sentry is in (from {@code /proc/<pid>/cgroup})
 * @param expectedCgroup the pod's cgroup, where it should be
 */
public record SandboxUnlimited(SandboxRef sandbox, String actualCgroup, String expectedCgroup) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
