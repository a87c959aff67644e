package dev.oomwatch.inference;

import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.model.WatchedPod;
import java.time.Instant;

/** What inference asks the reporters to say. Immutable records. */
public sealed interface Finding {
  /** A kill, new or with new evidence: publish (create, or merge into the existing incident). */
  record IncidentFound(OomIncident incident) implements Finding {}

  /** A sandbox has stayed above the configured share of its limit since {@code since}. */
  record NearOom(WatchedPod pod, long usageBytes, long limitBytes, Instant since) implements Finding {}

  /** A sandbox's processes sit in a cgroup with no memory limit while the pod declares one. */
  record LimitNotEnforced(WatchedPod pod, SandboxUnlimited observation, Instant seenAt) implements Finding {}
}
