package dev.oomwatch.inference;

import java.time.Duration;

/**
 * The time windows and thresholds of {@link IncidentFusion}. Immutable.
 *
 * @param sameKillWindow  signals about one pod this close in time are about one kill (kmsg is
 *                        immediate, a cgroup poll and a sentry-death check come up to a poll later)
 * @param likelyWindow    a sandbox death and its pod cgroup hitting the limit this close together make
 *                        an OOM {@code Likely}; a death waits this long for such a signal before it is let go
 * @param nearOomShare    share of the limit above which a pod is near OOM
 * @param nearOomFor      how long it must stay there before the warning
 * @param nearOomRepeat   the least time between two warnings for one pod
 */
public record FusionSettings(
    Duration sameKillWindow, Duration likelyWindow, double nearOomShare, Duration nearOomFor, Duration nearOomRepeat) {

  /** Windows fit for a poll interval: the slower the polls, the wider the windows. */
  public static FusionSettings forPollInterval(Duration poll, double nearOomShare, Duration nearOomFor,
      Duration nearOomRepeat) {
    Duration threePolls = poll.multipliedBy(3);
    Duration sameKill = max(Duration.ofSeconds(30), threePolls);
    Duration likely = max(Duration.ofSeconds(5), threePolls);
    return new FusionSettings(sameKill, likely, nearOomShare, nearOomFor, nearOomRepeat);
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
